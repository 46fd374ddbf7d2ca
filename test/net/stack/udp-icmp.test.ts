import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/util/clock.js';
import { ETH, EtherType, emitEthernet } from '../../../src/packet/ethernet.js';
import { IPV4, IpProto, emitIpv4 } from '../../../src/packet/ipv4.js';
import { ICMP, Icmpv4DstUnreachCode, Icmpv4Type, emitIcmpv4 } from '../../../src/packet/icmpv4.js';
import { TcpFlags } from '../../../src/packet/tcp.js';
import type { SocketError } from '../../../src/net/stack/index.js';
import { GW_IP, GW_MAC, TestNet, ip } from './link.js';

function pair() {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const client = net.host('client', '10.0.1.10');
  const server = net.host('server', '10.0.2.20');
  return { clock, net, client, server };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

test('UDP echo: datagrams both ways with the right ports and checksums', () => {
  const { clock, net, client, server } = pair();
  const echo = server.udpBind(7);
  echo.onMessage = (bytes, fromIp, fromPort) => echo.sendTo(fromIp, fromPort, bytes);
  const sock = client.udpBind();
  const got: [string, number, number][] = [];
  sock.onMessage = (bytes, fromIp, fromPort) => got.push([str(bytes), fromIp, fromPort]);
  assert.equal(sock.sendTo(server.ip, 7, text('ping 1')), 6);
  assert.equal(sock.sendTo(server.ip, 7, text('ping 2')), 6);
  clock.runUntilIdle();
  assert.deepEqual(got, [
    ['ping 1', server.ip, 7],
    ['ping 2', server.ip, 7],
  ]);
  const udp = net.sent.filter((f) => f.d.udp);
  assert.equal(udp.length, 4);
  assert.ok(udp.every((f) => f.d.checksumsOk && f.d.ip!.dontFragment));
  assert.equal(udp[0]!.d.udp!.srcPort, sock.localPort);
  assert.ok(sock.localPort >= 32768 && sock.localPort <= 60999);
  assert.equal(server.stats.udpDatagramsIn, 2);
  assert.equal(client.stats.udpDatagramsOut, 2);
});

test('UDP to a closed port: ICMP port unreachable quoting the datagram, ECONNREFUSED on a connected socket', () => {
  const { clock, net, client, server } = pair();
  const connected = client.udpBind();
  assert.equal(connected.connect(server.ip, 9), 0);
  const errors: SocketError[] = [];
  connected.onError = (e) => errors.push(e);
  const unconnected = client.udpBind();
  unconnected.onError = () => assert.fail('unconnected sockets do not hear ICMP errors');

  connected.send(text('anyone?'));
  unconnected.sendTo(server.ip, 9, text('anyone?'));
  clock.runUntilIdle();

  const icmp = net.framesFrom('server', (d) => !!d.icmp);
  assert.equal(icmp.length, 2);
  const m = icmp[0]!.d.icmp!;
  assert.equal(m.kind, 'dstUnreachable');
  if (m.kind !== 'dstUnreachable') return;
  assert.equal(m.code, Icmpv4DstUnreachCode.PortUnreachable);
  assert.equal(m.header.src, client.ip);
  assert.equal(m.header.dst, server.ip);
  assert.equal(m.header.protocol, IpProto.UDP);
  assert.equal((m.data[0]! << 8) | m.data[1]!, connected.localPort);
  assert.equal((m.data[2]! << 8) | m.data[3]!, 9);
  assert.equal(str(m.data.subarray(8)), 'anyone?', 'quotes the whole small datagram');
  assert.ok(icmp[0]!.d.checksumsOk);
  assert.equal(server.stats.udpNoPort, 2);

  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'ECONNREFUSED');
  assert.equal(errors[0]!.message, 'Connection refused');
});

test('UDP: connected sockets only hear their peer; oversize datagrams fail EMSGSIZE; send needs connect', () => {
  const { clock, client, server } = pair();
  const s = server.udpBind(53);
  const heard: string[] = [];
  s.onMessage = (b) => heard.push(str(b));
  assert.equal(s.connect(client.ip, 5353), 0);
  const other = client.udpBind(5354);
  other.sendTo(server.ip, 53, text('stranger'));
  const peer = client.udpBind(5353);
  peer.sendTo(server.ip, 53, text('peer'));
  clock.runUntilIdle();
  assert.deepEqual(heard, ['peer']);
  assert.equal(peer.sendTo(server.ip, 53, new Uint8Array(1423)), -90);
  assert.equal(peer.sendTo(server.ip, 53, new Uint8Array(1422)), 1422);
  assert.equal(other.send(text('x')), -89, 'EDESTADDRREQ');
  assert.throws(() => client.udpBind(5353), /Address already in use/);
});

test('ICMP echo: ping gets a reply with RTT and TTL; the responder answers from the kernel', () => {
  const { clock, net, client, server } = pair();
  const replies: [number, number][] = [];
  for (let seq = 1; seq <= 3; seq++) {
    clock.setTimer((seq - 1) * 1000, () =>
      client.ping(server.ip, { ident: 0x1234, seq, onReply: (rtt, ttl) => replies.push([rtt, ttl]) }),
    );
  }
  clock.runUntilIdle();
  assert.deepEqual(replies, [
    [2, 63],
    [2, 63],
    [2, 63],
  ]);
  const req = net.framesFrom('client', (d) => d.icmp?.kind === 'echoRequest');
  const rep = net.framesFrom('server', (d) => d.icmp?.kind === 'echoReply');
  assert.equal(req.length, 3);
  assert.equal(rep.length, 3);
  const q = req[0]!.d.icmp!;
  const r = rep[0]!.d.icmp!;
  if (q.kind !== 'echoRequest' || r.kind !== 'echoReply') return;
  assert.equal(q.ident, 0x1234);
  assert.equal(q.seq, 1);
  assert.equal(q.data.length, 56);
  assert.equal(r.ident, 0x1234);
  assert.deepEqual(r.data, q.data);
  assert.equal(req[0]!.frame.length, ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + ICMP.HEADER_LEN + 56);
  assert.equal(server.stats.icmpEchoRepliesSent, 3);
});

test('ping to a host that never answers times out when asked to', () => {
  const { clock, client } = pair();
  let err: SocketError | undefined;
  client.ping(ip('10.9.9.9'), { seq: 1, timeoutMs: 1000, onReply: () => assert.fail(), onError: (e) => (err = e) });
  clock.runUntilIdle();
  assert.equal(err?.code, 'ETIMEDOUT');
  assert.equal(clock.now(), 1000);
});

/** An ICMP error from the gateway quoting the IPv4 header and first 8 bytes of a frame. */
function icmpErrorFrom(frame: Uint8Array, toMac: number, toIp: number, type: number, code: number): Uint8Array {
  const ipOff = ETH.HEADER_LEN;
  const ipHeaderLen = (frame[ipOff]! & 0x0f) * 4;
  const quoted = frame.slice(ipOff + ipHeaderLen, ipOff + ipHeaderLen + 8);
  const header = {
    src: (frame[ipOff + 12]! << 24) | (frame[ipOff + 13]! << 16) | (frame[ipOff + 14]! << 8) | frame[ipOff + 15]!,
    dst: (frame[ipOff + 16]! << 24) | (frame[ipOff + 17]! << 16) | (frame[ipOff + 18]! << 8) | frame[ipOff + 19]!,
    protocol: frame[ipOff + 9]!,
    ttl: frame[ipOff + 8]!,
    payloadLen: ((frame[ipOff + 2]! << 8) | frame[ipOff + 3]!) - ipHeaderLen,
  };
  header.src >>>= 0;
  header.dst >>>= 0;
  const icmpLen = ICMP.HEADER_LEN + IPV4.MIN_HEADER_LEN + 8;
  const out = new Uint8Array(ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + icmpLen);
  emitEthernet({ src: GW_MAC, dst: toMac, ethertype: EtherType.IPv4 }, out, 0);
  emitIpv4({ src: GW_IP, dst: toIp, protocol: IpProto.ICMP, ttl: 64, payloadLen: icmpLen }, out, ETH.HEADER_LEN);
  const kind = type === Icmpv4Type.DestinationUnreachable ? 'dstUnreachable' : 'timeExceeded';
  emitIcmpv4({ kind, code, header, data: quoted }, out, ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN);
  return out;
}

test('ICMP host unreachable for a SYN fails the connect with EHOSTUNREACH ("No route to host")', () => {
  const { clock, net, client, server } = pair();
  net.drop = (f) => {
    if (f.d.tcp?.flags !== TcpFlags.SYN) return false;
    net.inject(client, icmpErrorFrom(f.frame, client.mac, client.ip, Icmpv4Type.DestinationUnreachable, 1));
    return true;
  };
  const c = client.tcpConnect(server.ip, 80);
  let err: SocketError | undefined;
  c.onClose = (e) => (err = e);
  clock.runUntilIdle();
  assert.equal(err?.code, 'EHOSTUNREACH');
  assert.equal(err?.message, 'No route to host');
  assert.equal(clock.now(), 1, 'no SYN retransmission');
  assert.equal(client.stats.icmpErrorsIn, 1);
});

test('ICMP errors about pings reach the pinger; unknown IP protocols get protocol unreachable', () => {
  const { clock, net, client, server } = pair();
  net.drop = (f) => {
    if (f.d.icmp?.kind !== 'echoRequest') return false;
    net.inject(client, icmpErrorFrom(f.frame, client.mac, client.ip, Icmpv4Type.TimeExceeded, 0));
    return true;
  };
  let err: SocketError | undefined;
  client.ping(server.ip, { seq: 9, onReply: () => assert.fail(), onError: (e) => (err = e) });
  clock.runUntilIdle();
  assert.equal(err?.code, 'EHOSTUNREACH');

  // An IPv4 packet with protocol 47 (GRE) for the server.
  const gre = new Uint8Array(ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + 4);
  emitEthernet({ src: GW_MAC, dst: server.mac, ethertype: EtherType.IPv4 }, gre, 0);
  emitIpv4({ src: client.ip, dst: server.ip, protocol: 47, ttl: 64, payloadLen: 4 }, gre, ETH.HEADER_LEN);
  net.inject(server, gre);
  clock.runUntilIdle();
  assert.equal(server.stats.rxUnknownProtocol, 1);
  const [unreach] = net.framesFrom('server', (d) => d.icmp?.kind === 'dstUnreachable');
  const m = unreach!.d.icmp!;
  assert.equal(m.kind === 'dstUnreachable' && m.code, Icmpv4DstUnreachCode.ProtocolUnreachable);
});
