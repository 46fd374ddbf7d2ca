import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/util/clock.js';
import { TcpFlags } from '../../../src/packet/tcp.js';
import { IPV4 } from '../../../src/packet/ipv4.js';
import { ETH } from '../../../src/packet/ethernet.js';
import type { SocketError, TcpSocket } from '../../../src/net/stack/index.js';
import { EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN } from '../../../src/net/stack/index.js';
import { TestNet, concat, pattern, type HostOptions } from './link.js';

const SYN = TcpFlags.SYN, ACK = TcpFlags.ACK, FIN = TcpFlags.FIN, RST = TcpFlags.RST, PSH = TcpFlags.PSH;

function pair(opts: HostOptions = {}) {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const client = net.host('client', '10.0.1.10', opts);
  const server = net.host('server', '10.0.2.20', opts);
  return { clock, net, client, server };
}

/** Collects everything a socket reports. */
function watch(s: TcpSocket, clock: VirtualClock) {
  const w = {
    data: [] as Uint8Array[],
    connected: false,
    ended: false,
    closed: false,
    closedAt: -1,
    err: undefined as SocketError | undefined,
  };
  s.onConnect = () => (w.connected = true);
  s.onData = (d) => w.data.push(d);
  s.onEnd = () => (w.ended = true);
  s.onClose = (e) => {
    w.closed = true;
    w.closedAt = clock.now();
    w.err = e;
  };
  return w;
}

test('3-way handshake: flags, sequence numbers and Linux-like SYN options on the wire', () => {
  const { clock, net, client, server } = pair();
  const accepted: TcpSocket[] = [];
  server.tcpListen(80, (s) => accepted.push(s));
  const c = client.tcpConnect(server.ip, 80);
  const w = watch(c, clock);
  assert.equal(c.state, 'SYN_SENT');
  assert.ok(clock.runUntil(() => w.connected && accepted.length === 1, 1000));

  const tcp = net.sent.filter((f) => f.d.tcp);
  assert.equal(tcp.length, 3);
  const [syn, synAck, ack] = tcp.map((f) => f.d);
  assert.ok(tcp.every((f) => f.d.checksumsOk));

  assert.equal(syn!.tcp!.flags, SYN);
  assert.equal(syn!.ip!.ttl, 64);
  assert.equal(syn!.ip!.dontFragment, true);
  assert.equal(syn!.eth.dst, 0x02_00_00_00_00_01, 'sent to the gateway MAC');
  assert.ok(c.localPort >= EPHEMERAL_PORT_MIN && c.localPort <= EPHEMERAL_PORT_MAX);
  assert.equal(syn!.tcp!.srcPort, c.localPort);
  assert.equal(syn!.tcp!.dstPort, 80);
  assert.equal(syn!.tcp!.window, 64860, 'floor(65535 / 1410) * 1410, unscaled');
  assert.equal(syn!.tcp!.options.mss, 1410, 'MTU 1450 - 40');
  assert.equal(syn!.tcp!.options.sackPermitted, true);
  assert.equal(syn!.tcp!.options.windowScale, 7);
  assert.equal(syn!.tcp!.options.timestamp!.echo, 0);
  // Linux's option layout: MSS, SACK_PERM, TS, NOP, WSCALE (20 bytes).
  const synFrame = tcp[0]!.frame;
  const opts = synFrame.subarray(ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + 20, ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + 40);
  assert.deepEqual([...opts.subarray(0, 8)], [2, 4, 0x05, 0x82, 4, 2, 8, 10]);
  assert.deepEqual([...opts.subarray(16)], [1, 3, 3, 7]);

  assert.equal(synAck!.tcp!.flags, SYN | ACK);
  assert.equal(synAck!.tcp!.ack, (syn!.tcp!.seq + 1) >>> 0);
  assert.equal(synAck!.tcp!.options.mss, 1410);
  assert.equal(synAck!.tcp!.options.sackPermitted, true);
  assert.equal(synAck!.tcp!.options.windowScale, 7);
  assert.equal(synAck!.tcp!.options.timestamp!.echo, syn!.tcp!.options.timestamp!.value);

  assert.equal(ack!.tcp!.flags, ACK);
  assert.equal(ack!.tcp!.seq, (syn!.tcp!.seq + 1) >>> 0);
  assert.equal(ack!.tcp!.ack, (synAck!.tcp!.seq + 1) >>> 0);
  assert.equal(ack!.tcp!.options.timestamp!.echo, synAck!.tcp!.options.timestamp!.value);

  const s = accepted[0]!;
  assert.equal(c.state, 'ESTABLISHED');
  assert.equal(s.state, 'ESTABLISHED');
  assert.equal(s.remoteIp, client.ip);
  assert.equal(s.remotePort, c.localPort);
  assert.equal(c.sendMss, 1410 - 12, 'MSS minus the timestamp option');
  assert.notEqual(c.cookie, s.cookie);
});

test('100 KB each way arrives intact and in order, in segments no larger than the MSS', () => {
  const { clock, net, client, server } = pair();
  const up = pattern(100_000, 1);
  const down = pattern(100_000, 2);
  let sw: ReturnType<typeof watch> | undefined;
  server.tcpListen(8080, (s) => {
    sw = watch(s, clock);
    s.write(down);
    s.end();
  });
  const c = client.tcpConnect(server.ip, 8080);
  const cw = watch(c, clock);
  c.onConnect = () => {
    c.write(up.subarray(0, 30_000));
    c.write(up.subarray(30_000));
    c.end();
  };
  assert.ok(clock.runUntil(() => cw.closed && !!sw?.closed, 30_000));

  assert.deepEqual(concat(sw!.data), up);
  assert.deepEqual(concat(cw.data), down);
  assert.equal(cw.err, undefined);
  assert.equal(sw!.err, undefined);
  assert.ok(cw.ended && sw!.ended);
  const segs = net.sent.filter((f) => f.d.tcp && f.d.tcp.payload.length > 0);
  assert.ok(segs.length >= 2 * Math.ceil(100_000 / 1398));
  for (const f of segs) {
    assert.ok(f.d.checksumsOk);
    assert.ok(f.d.tcp!.payload.length <= c.sendMss);
    assert.ok(f.frame.length <= ETH.HEADER_LEN + 1450, 'frame fits the MTU');
  }
  // Nothing lost, nothing retransmitted.
  assert.equal(client.stats.tcpRetransmits + server.stats.tcpRetransmits, 0);
  // The last data segment of each direction carries PSH.
  assert.ok(segs.some((f) => f.from === 'client' && f.d.tcp!.flags & PSH));
});

test('FIN both ways: half-close keeps data flowing, then LAST_ACK → CLOSED and TIME_WAIT for 60 s', () => {
  const { clock, net, client, server } = pair();
  let s: TcpSocket | undefined;
  let sw: ReturnType<typeof watch> | undefined;
  server.tcpListen(80, (sock) => {
    s = sock;
    sw = watch(sock, clock);
  });
  const c = client.tcpConnect(server.ip, 80);
  const cw = watch(c, clock);
  assert.ok(clock.runUntil(() => cw.connected && !!s));

  c.write(new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
  c.end();
  assert.equal(c.state, 'FIN_WAIT_1');
  assert.ok(clock.runUntil(() => sw!.ended));
  assert.equal(s!.state, 'CLOSE_WAIT');
  clock.advance(100);
  assert.equal(c.state, 'FIN_WAIT_2');
  assert.equal(new TextDecoder().decode(concat(sw!.data)), 'GET / HTTP/1.0\r\n\r\n');

  // Half-closed: the server still sends its response, then closes.
  s!.write(new TextEncoder().encode('HTTP/1.0 200 OK\r\n\r\nhello'));
  s!.end();
  assert.equal(s!.state, 'LAST_ACK');
  assert.ok(clock.runUntil(() => sw!.closed && cw.closed));
  assert.equal(new TextDecoder().decode(concat(cw.data)), 'HTTP/1.0 200 OK\r\n\r\nhello');
  assert.equal(s!.state, 'CLOSED');
  assert.equal(c.state, 'TIME_WAIT');
  assert.equal(cw.err, undefined);

  const fins = net.sent.filter((f) => f.d.tcp && f.d.tcp.flags & FIN);
  assert.deepEqual(
    fins.map((f) => f.from),
    ['client', 'server'],
  );
  // onClose fires as the client enters TIME_WAIT; the socket stays in the table 60 s.
  assert.equal(client.tcpSockets().length, 1);
  assert.equal(server.tcpSockets().length, 0);
  clock.advanceTo(cw.closedAt + 59_999);
  assert.equal(c.state, 'TIME_WAIT');
  clock.advance(1);
  assert.equal(c.state, 'CLOSED');
  assert.equal(client.tcpSockets().length, 0);
  assert.equal(clock.pending, 0);
});

test('TIME_WAIT can be shortened by the timeWaitMs option', () => {
  const { clock, client, server } = pair({ tcp: { timeWaitMs: 1000 } });
  server.tcpListen(80, (s) => (s.onEnd = () => s.end()));
  const c = client.tcpConnect(server.ip, 80);
  c.onConnect = () => c.end();
  assert.ok(clock.runUntil(() => c.state === 'TIME_WAIT'));
  const t = clock.now();
  assert.ok(clock.runUntil(() => c.state === 'CLOSED'));
  assert.equal(clock.now() - t, 1000);
});

test('a dropped SYN is retransmitted at 1, 3, 7, 15, 31 and 63 s, then ETIMEDOUT at 127 s', () => {
  const { clock, net, client, server } = pair();
  server.tcpListen(80, () => assert.fail('no SYN gets through'));
  net.drop = (f) => !!f.d.tcp && (f.d.tcp.flags & SYN) !== 0;
  const c = client.tcpConnect(server.ip, 80);
  const w = watch(c, clock);
  let closedAt = -1;
  c.onClose = (e) => {
    w.err = e;
    closedAt = clock.now();
  };
  clock.runUntilIdle();
  const syns = net.framesFrom('client', (d) => !!d.tcp && d.tcp.flags === SYN);
  assert.deepEqual(
    syns.map((f) => f.at),
    [0, 1000, 3000, 7000, 15000, 31000, 63000],
  );
  assert.ok(syns.every((f) => f.d.tcp!.seq === syns[0]!.d.tcp!.seq), 'same ISN each time');
  assert.equal(closedAt, 127_000);
  assert.equal(w.err?.code, 'ETIMEDOUT');
  assert.equal(w.err?.errno, 110);
  assert.equal(w.err?.message, 'Connection timed out');
  assert.equal(c.state, 'CLOSED');
  assert.equal(client.tcpSockets().length, 0);
});

test('an app timeout (curl --max-time 5) closes the SYN_SENT socket quietly: no more SYNs, no RST', () => {
  const { clock, net, client, server } = pair();
  net.drop = (f) => !!f.d.tcp && (f.d.tcp.flags & SYN) !== 0;
  const c = client.tcpConnect(server.ip, 80);
  const w = watch(c, clock);
  clock.setTimer(5000, () => c.close());
  clock.runUntilIdle();
  const fromClient = net.framesFrom('client', (d) => !!d.tcp);
  assert.deepEqual(
    fromClient.map((f) => [f.at, f.d.tcp!.flags]),
    [
      [0, SYN],
      [1000, SYN],
      [3000, SYN],
    ],
  );
  assert.ok(w.closed);
  assert.equal(w.err, undefined);
  assert.equal(clock.now(), 5000, 'no timer left behind');
});

test('SYN to a closed port: RST|ACK comes back and connect fails with ECONNREFUSED', () => {
  const { clock, net, client, server } = pair();
  const c = client.tcpConnect(server.ip, 81);
  const w = watch(c, clock);
  clock.runUntilIdle();
  const [syn] = net.framesFrom('client', (d) => !!d.tcp);
  const [rst] = net.framesFrom('server', (d) => !!d.tcp);
  assert.equal(rst!.d.tcp!.flags, RST | ACK);
  assert.equal(rst!.d.tcp!.seq, 0);
  assert.equal(rst!.d.tcp!.ack, (syn!.d.tcp!.seq + 1) >>> 0);
  assert.equal(w.err?.code, 'ECONNREFUSED');
  assert.equal(w.err?.errno, 111);
  assert.equal(c.state, 'CLOSED');
  assert.equal(server.stats.tcpNoSocket, 1);
  assert.equal(server.stats.tcpRstOut, 1);
  assert.equal(client.stats.tcpRstIn, 1);
  assert.equal(clock.now(), 2, 'refused after one round trip, no retransmission');
});

test('destroy() sends RST and the peer sees ECONNRESET', () => {
  const { clock, net, client, server } = pair();
  let sw: ReturnType<typeof watch> | undefined;
  let s: TcpSocket | undefined;
  server.tcpListen(80, (sock) => {
    s = sock;
    sw = watch(sock, clock);
  });
  const c = client.tcpConnect(server.ip, 80);
  const cw = watch(c, clock);
  assert.ok(clock.runUntil(() => cw.connected && !!s));
  s!.destroy();
  assert.equal(s!.state, 'CLOSED');
  clock.runUntilIdle();
  const rst = net.framesFrom('server', (d) => !!d.tcp && (d.tcp.flags & RST) !== 0);
  assert.equal(rst.length, 1);
  assert.equal(rst[0]!.d.tcp!.flags, RST | ACK);
  assert.equal(cw.err?.code, 'ECONNRESET');
  assert.equal(cw.err?.message, 'Connection reset by peer');
  assert.equal(c.state, 'CLOSED');
  assert.ok(sw!.closed);
  assert.equal(sw!.err, undefined);
});

test('a lost data segment is retransmitted after the RTO (≈ SRTT + 200 ms) and the stream stays intact', () => {
  const { clock, net, client, server } = pair();
  const got: Uint8Array[] = [];
  server.tcpListen(80, (s) => (s.onData = (d) => got.push(d)));
  const c = client.tcpConnect(server.ip, 80);
  const cw = watch(c, clock);
  assert.ok(clock.runUntil(() => cw.connected));
  let dropped = 0;
  net.drop = (f) => f.from === 'client' && !!f.d.tcp && f.d.tcp.payload.length > 0 && dropped++ === 0;
  const msg = pattern(500);
  c.write(msg);
  const sentAt = clock.now();
  clock.runUntil(() => got.length > 0, 5000);
  assert.deepEqual(concat(got), msg);
  const data = net.framesFrom('client', (d) => !!d.tcp && d.tcp.payload.length > 0);
  assert.equal(data.length, 2);
  assert.equal(data[1]!.d.tcp!.seq, data[0]!.d.tcp!.seq);
  const rto = data[1]!.at - sentAt;
  assert.ok(rto >= 200 && rto < 300, `retransmitted after ${rto} ms`);
  assert.equal(client.stats.tcpRetransmits, 1);
});

test('a hole in a bulk transfer: SACK blocks in duplicate ACKs, fast retransmit, in-order delivery', () => {
  const { clock, net, client, server } = pair();
  const got: Uint8Array[] = [];
  server.tcpListen(80, (s) => (s.onData = (d) => got.push(d)));
  const c = client.tcpConnect(server.ip, 80);
  const cw = watch(c, clock);
  assert.ok(clock.runUntil(() => cw.connected));
  let n = 0;
  net.drop = (f) => f.from === 'client' && !!f.d.tcp && f.d.tcp.payload.length > 0 && ++n === 2;
  const msg = pattern(20_000, 3);
  c.write(msg);
  const start = clock.now();
  assert.ok(clock.runUntil(() => concat(got).length === msg.length, 5000));
  assert.deepEqual(concat(got), msg);
  const dupAcks = net.framesFrom('server', (d) => !!d.tcp?.options.sackBlocks);
  assert.ok(dupAcks.length >= 3, 'receiver reports what it holds beyond the hole');
  const lost = net.framesFrom('client', (d) => !!d.tcp && d.tcp.payload.length > 0)[1]!;
  const block = dupAcks[0]!.d.tcp!.options.sackBlocks![0]!;
  assert.equal(dupAcks[0]!.d.tcp!.ack, lost.d.tcp!.seq);
  assert.equal(block.left, (lost.d.tcp!.seq + lost.d.tcp!.payload.length) >>> 0);
  const resent = net.framesFrom('client', (d) => d.tcp?.seq === lost.d.tcp!.seq && d.tcp.payload.length > 0);
  assert.equal(resent.length, 2);
  assert.ok(resent[1]!.at - start < 50, 'fast retransmit, not an RTO');
  assert.ok(server.stats.tcpOutOfOrder > 0);
});

test('ephemeral ports avoid ports still in use (TIME_WAIT), and an explicit port clash fails EADDRINUSE', () => {
  const { clock, client, server } = pair();
  server.tcpListen(80, (s) => (s.onEnd = () => s.end()));
  const ports = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const c = client.tcpConnect(server.ip, 80);
    c.onConnect = () => c.end();
    assert.ok(clock.runUntil(() => c.state === 'TIME_WAIT'));
    ports.add(c.localPort);
  }
  assert.equal(ports.size, 40);
  assert.equal(client.tcpSockets().filter((s) => s.state === 'TIME_WAIT').length, 40);

  const used = [...ports][0]!;
  const clash = client.tcpConnect(server.ip, 80, { srcPort: used });
  const w = watch(clash, clock);
  clock.advance(1);
  assert.equal(w.err?.code, 'EADDRINUSE');

  const fresh = client.tcpConnect(server.ip, 80, { srcPort: 40000 });
  const fw = watch(fresh, clock);
  assert.ok(clock.runUntil(() => fw.connected));
  assert.equal(fresh.localPort, 40000);
});

test('listen backlog bounds half-open connections; a closed listener refuses', () => {
  const { clock, net, client, server } = pair();
  // Drop the client's final ACKs so connections stay half-open on the server.
  net.drop = (f) => f.from === 'client' && !!f.d.tcp && f.d.tcp.flags === ACK;
  const l = server.tcpListen(80, () => {}, { backlog: 2 });
  for (let i = 0; i < 3; i++) client.tcpConnect(server.ip, 80);
  clock.advance(10);
  assert.equal(l.pendingCount, 2);
  assert.equal(server.stats.tcpListenDrops, 1);
  l.close();
  assert.equal(l.pendingCount, 0);
  net.drop = () => false;
  const c = client.tcpConnect(server.ip, 80);
  const w = watch(c, clock);
  clock.advance(10);
  assert.equal(w.err?.code, 'ECONNREFUSED');
});

test('write before the handshake completes is sent once established', () => {
  const { clock, client, server } = pair();
  const got: Uint8Array[] = [];
  server.tcpListen(80, (s) => (s.onData = (d) => got.push(d)));
  const c = client.tcpConnect(server.ip, 80);
  c.write(new Uint8Array([1, 2, 3]));
  c.end();
  assert.ok(clock.runUntil(() => c.state === 'TIME_WAIT' || c.state === 'FIN_WAIT_2'));
  assert.deepEqual([...concat(got)], [1, 2, 3]);
});

test('delayed ACK: a lone segment is acknowledged after 40 ms, a reply written in onData carries the ACK', () => {
  const { clock, net, client, server } = pair();
  let s: TcpSocket | undefined;
  server.tcpListen(80, (sock) => (s = sock));
  const c = client.tcpConnect(server.ip, 80);
  const cw = watch(c, clock);
  assert.ok(clock.runUntil(() => cw.connected && !!s));
  const sd: Uint8Array[] = [];
  s!.onData = (d) => sd.push(d);
  const t0 = clock.now();
  c.write(new Uint8Array([1]));
  clock.advance(100);
  const acks = net.framesFrom('server', (d) => d.tcp?.flags === ACK && d.tcp.payload.length === 0);
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.at - t0, 1 + 40, 'arrives after 1 ms, acknowledged 40 ms later');

  // Request/response: the response segment acknowledges the request, no separate ACK.
  s!.onData = (d) => s!.write(d);
  const before = net.sent.length;
  c.write(new Uint8Array([2]));
  clock.advance(100);
  const serverFrames = net.sent.slice(before).filter((f) => f.from === 'server');
  assert.equal(serverFrames.length, 1);
  assert.equal(serverFrames[0]!.d.tcp!.payload.length, 1);
});

test('shutdown() resets connections, closes sockets and leaves no timers behind', () => {
  const { clock, net, client, server } = pair();
  const accepted: TcpSocket[] = [];
  server.tcpListen(80, (s) => accepted.push(s));
  const c = client.tcpConnect(server.ip, 80);
  const cw = watch(c, clock);
  assert.ok(clock.runUntil(() => cw.connected && accepted.length === 1));
  server.shutdown();
  clock.runUntilIdle();
  assert.equal(cw.err?.code, 'ECONNRESET');
  assert.equal(server.tcpSockets().length, 0);
  assert.deepEqual(server.listeningPorts(), []);
  assert.equal(clock.pending, 0);
  const n = net.sent.length;
  server.receive(net.sent[0]!.frame);
  assert.equal(net.sent.length, n, 'a stack that is down sends nothing');
});
