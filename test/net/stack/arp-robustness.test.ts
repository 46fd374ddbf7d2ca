import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/util/clock.js';
import { Rng } from '../../../src/util/rng.js';
import { ArpOp, buildArpFrame } from '../../../src/packet/index.js';
import { ETH, EtherType } from '../../../src/packet/ethernet.js';
import { IpProto } from '../../../src/packet/ipv4.js';
import { TcpSegment } from '../../../src/packet/tcp.js';
import { UdpDatagram } from '../../../src/packet/udp.js';
import { internetChecksum, writeU16 } from '../../../src/packet/checksum.js';
import { MAC_BROADCAST, writeMac } from '../../../src/packet/mac.js';
import type { NetStack, TcpSocket } from '../../../src/net/stack/index.js';
import { GW_IP, GW_MAC, TestNet, concat, ip, pattern } from './link.js';

test('ARP: the gateway is resolved before the first SYN, which waits in the queue', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const client = net.host('client', '10.0.1.10', { arp: true });
  const server = net.host('server', '10.0.2.20');
  server.tcpListen(80, () => {});
  assert.equal(client.gatewayMac, undefined);
  const c = client.tcpConnect(server.ip, 80);
  let connected = false;
  c.onConnect = () => (connected = true);
  assert.ok(clock.runUntil(() => connected));

  const [req, syn] = net.framesFrom('client');
  assert.equal(req!.at, 0);
  assert.equal(req!.d.eth.dst, MAC_BROADCAST);
  assert.equal(req!.d.eth.ethertype, EtherType.ARP);
  assert.deepEqual(req!.d.arp, { op: ArpOp.Request, sha: client.mac, spa: client.ip, tha: 0, tpa: GW_IP });
  assert.equal(syn!.d.tcp!.flags, 2);
  assert.equal(syn!.at, 2, 'sent when the reply arrived (one round trip)');
  assert.equal(syn!.d.eth.dst, GW_MAC);
  assert.equal(client.gatewayMac, GW_MAC);
  assert.equal(client.stats.arpRequestsSent, 1);
});

test('ARP: requests for our IP are answered, others ignored', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const pod = net.host('pod', '10.0.1.10');
  const asker = 0x02_aa_bb_cc_dd_ee;
  const ask = (tpa: number) =>
    buildArpFrame({ op: ArpOp.Request, srcMac: asker, spa: ip('10.0.1.99'), tpa });
  pod.receive(ask(ip('10.0.1.10')));
  pod.receive(ask(ip('10.0.1.11')));
  const replies = net.framesFrom('pod');
  assert.equal(replies.length, 1);
  assert.equal(replies[0]!.d.eth.dst, asker);
  assert.equal(replies[0]!.d.eth.src, pod.mac);
  assert.deepEqual(replies[0]!.d.arp, {
    op: ArpOp.Reply,
    sha: pod.mac,
    spa: pod.ip,
    tha: asker,
    tpa: ip('10.0.1.99'),
  });
  assert.equal(pod.stats.arpRepliesSent, 1);
});

test('ARP: an unanswered gateway gets 3 requests a second apart, then the queued frames are dropped', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const pod = net.host('pod', '10.0.1.10', { arp: true });
  net.drop = (f) => !!f.d.arp;
  pod.ping(ip('10.0.2.20'), { seq: 1, onReply: () => assert.fail() });
  clock.runUntilIdle();
  assert.deepEqual(
    net.framesFrom('pod').map((f) => [f.at, f.d.arp?.op]),
    [
      [0, ArpOp.Request],
      [1000, ArpOp.Request],
      [2000, ArpOp.Request],
    ],
  );
  assert.equal(pod.stats.arpDrops, 1);
  assert.equal(clock.now(), 3000);
});

/** Recomputes the IPv4 header checksum and the TCP/UDP checksum when the headers allow. */
function fixChecksums(frame: Uint8Array): void {
  if (frame.length < ETH.HEADER_LEN + 20 || ((frame[12]! << 8) | frame[13]!) !== EtherType.IPv4) return;
  const ipOff = ETH.HEADER_LEN;
  const ihl = (frame[ipOff]! & 0x0f) * 4;
  if (ihl < 20 || ipOff + ihl > frame.length) return;
  writeU16(frame, ipOff + 10, 0);
  writeU16(frame, ipOff + 10, internetChecksum(frame, ipOff, ihl));
  const total = (frame[ipOff + 2]! << 8) | frame[ipOff + 3]!;
  if (total < ihl || ipOff + total > frame.length) return;
  const src = ((frame[ipOff + 12]! << 24) | (frame[ipOff + 13]! << 16) | (frame[ipOff + 14]! << 8) | frame[ipOff + 15]!) >>> 0;
  const dst = ((frame[ipOff + 16]! << 24) | (frame[ipOff + 17]! << 16) | (frame[ipOff + 18]! << 8) | frame[ipOff + 19]!) >>> 0;
  const l4 = ipOff + ihl;
  const l4len = total - ihl;
  if (frame[ipOff + 9] === IpProto.TCP && l4len >= 20) new TcpSegment(frame, l4, l4len).fillChecksum(src, dst);
  if (frame[ipOff + 9] === IpProto.UDP && l4len >= 8) {
    const d = new UdpDatagram(frame, l4, l4len);
    if (d.length >= 8 && d.length <= l4len) d.fillChecksum(src, dst);
  }
}

test('corrupted checksums are counted and dropped; TCP recovers by retransmitting', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const client = net.host('client', '10.0.1.10');
  const server = net.host('server', '10.0.2.20');
  const got: Uint8Array[] = [];
  server.tcpListen(80, (s) => (s.onData = (d) => got.push(d)));
  const udp = server.udpBind(53);
  udp.onMessage = () => assert.fail('corrupted datagrams never reach the socket');
  const c = client.tcpConnect(server.ip, 80);
  let connected = false;
  c.onConnect = () => (connected = true);
  assert.ok(clock.runUntil(() => connected));

  let corrupted = 0;
  net.mangle = (f) => {
    if (f.from !== 'client') return f.frame;
    const out = f.frame.slice();
    if (f.d.tcp && f.d.tcp.payload.length > 0 && corrupted++ === 0) out[out.length - 1]! ^= 0x40; // TCP payload bit flip
    if (f.d.udp && f.d.udp.payload[0] === 1) out[ETH.HEADER_LEN + 8]! ^= 1; // IPv4 TTL: header checksum
    if (f.d.udp && f.d.udp.payload[0] === 2) out[out.length - 1]! ^= 1; // UDP payload: UDP checksum
    if (f.d.icmp) out[out.length - 1]! ^= 1; // ICMP checksum
    return out;
  };
  const msg = pattern(3000);
  c.write(msg);
  const u = client.udpBind();
  u.sendTo(server.ip, 53, new Uint8Array([1]));
  u.sendTo(server.ip, 53, new Uint8Array([2]));
  client.ping(server.ip, { seq: 1, onReply: () => assert.fail('corrupted echo is not answered') });
  clock.runUntil(() => concat(got).length === msg.length, 5000);
  assert.deepEqual(concat(got), msg);
  assert.equal(server.stats.rxBadChecksum, 4);
  assert.equal(server.stats.icmpEchoRepliesSent, 0);
  assert.ok(client.stats.tcpRetransmits >= 1);
});

test('frames for another MAC or IP are ignored; short and unknown frames are counted', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const pod = net.host('pod', '10.0.1.10');
  const other = net.host('other', '10.0.1.11');
  const frames: Uint8Array[] = [];
  const record = net.host('rec', '10.0.1.12');
  void record;
  other.ping(pod.ip, { seq: 1, onReply: () => {} });
  frames.push(net.sent[0]!.frame.slice());
  const wrongMac = frames[0]!.slice();
  writeMac(wrongMac, 0, 0x02_99_99_99_99_99);
  const wrongIp = frames[0]!.slice();
  writeMac(wrongIp, 0, pod.mac);
  wrongIp[ETH.HEADER_LEN + 19] = 99; // 10.0.1.99
  fixChecksums(wrongIp);
  pod.receive(wrongMac);
  pod.receive(wrongIp);
  pod.receive(new Uint8Array(5));
  const ipv6 = new Uint8Array(60);
  writeMac(ipv6, 0, pod.mac);
  ipv6[12] = 0x86;
  ipv6[13] = 0xdd;
  pod.receive(ipv6);
  assert.equal(pod.stats.rxNotForUs, 2);
  assert.equal(pod.stats.rxMalformed, 1);
  assert.equal(pod.stats.rxUnknownEtherType, 1);
  assert.equal(pod.stats.txFrames, 0);
});

test('10k random and mutated frames never throw, and the stacks keep working afterwards', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const client = net.host('client', '10.0.1.10');
  const server = net.host('server', '10.0.2.20');
  const rng = new Rng(0xf022);

  // Live state for mutated frames to hit: a listener, an open connection, UDP and ping.
  server.tcpListen(80, (s) => {
    s.onData = (d) => s.write(d);
    s.onEnd = () => s.end();
  });
  const echo = server.udpBind(7);
  echo.onMessage = (b, fromIp, fromPort) => echo.sendTo(fromIp, fromPort, b);
  const c = client.tcpConnect(server.ip, 80);
  c.onConnect = () => c.write(pattern(20_000));
  client.udpBind(5000).sendTo(server.ip, 7, pattern(100));
  client.udpBind().sendTo(server.ip, 9, pattern(10));
  client.ping(server.ip, { seq: 1, onReply: () => {} });
  clock.advance(500);
  const corpus = net.sent.map((f) => f.frame.slice());
  assert.ok(corpus.length > 20);

  const targets: NetStack[] = [client, server];
  for (let i = 0; i < 10_000; i++) {
    const target = targets[rng.below(2)]!;
    let frame: Uint8Array;
    const kind = rng.below(4);
    if (kind === 0) {
      frame = new Uint8Array(rng.below(120));
      for (let j = 0; j < frame.length; j++) frame[j] = rng.below(256);
      if (frame.length >= 14 && rng.below(2) === 0) {
        writeMac(frame, 0, target.mac);
        writeU16(frame, 12, rng.below(2) ? EtherType.IPv4 : EtherType.ARP);
      }
    } else {
      frame = corpus[rng.below(corpus.length)]!.slice();
      writeMac(frame, 0, target.mac);
      if (kind === 1) frame = frame.subarray(0, rng.below(frame.length + 1));
      // Kind 3 mutates only L4 headers and fixes the checksums, so the segments reach the state machines.
      const from = kind === 3 ? 34 : 14;
      const to = kind === 3 ? Math.min(frame.length, 74) : frame.length;
      const flips = 1 + rng.below(4);
      for (let k = 0; k < flips && to > from; k++) frame[from + rng.below(to - from)] = rng.below(256);
      if (kind === 3) fixChecksums(frame);
    }
    assert.doesNotThrow(() => target.receive(frame), `frame ${i}`);
    if (i % 100 === 0) assert.doesNotThrow(() => clock.advance(rng.below(300)));
  }
  assert.doesNotThrow(() => clock.runUntilIdle(600_000));
  assert.ok(server.stats.rxMalformed + server.stats.rxBadChecksum > 1000);

  // Fresh traffic still flows.
  const got: Uint8Array[] = [];
  let closed = false;
  const fresh: TcpSocket = client.tcpConnect(server.ip, 80);
  fresh.onConnect = () => {
    fresh.write(pattern(5000, 9));
    fresh.end();
  };
  fresh.onData = (d) => got.push(d);
  fresh.onClose = (e) => {
    assert.equal(e, undefined);
    closed = true;
  };
  assert.ok(clock.runUntil(() => closed, 10_000));
  assert.deepEqual(concat(got), pattern(5000, 9));
});
