import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/util/clock.js';
import { Rng } from '../../../src/util/rng.js';
import { TcpFlags } from '../../../src/packet/tcp.js';
import type { SocketError, TcpSocket } from '../../../src/net/stack/index.js';
import { NetStack } from '../../../src/net/stack/index.js';
import { TestNet, concat, ip, pattern } from './link.js';

const SYN = TcpFlags.SYN, ACK = TcpFlags.ACK;

function pair() {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const client = net.host('client', '10.0.1.10');
  const server = net.host('server', '10.0.2.20');
  return { clock, net, client, server };
}

test('random 5% loss both ways: 200 KB each direction still arrives intact and both ends close cleanly', () => {
  const { clock, net, client, server } = pair();
  const rng = new Rng(5);
  const up = pattern(200_000, 11);
  const down = pattern(200_000, 12);
  const serverGot: Uint8Array[] = [];
  const clientGot: Uint8Array[] = [];
  let serverClosed = false;
  let serverErr: SocketError | undefined;
  server.tcpListen(80, (s) => {
    s.onData = (d) => serverGot.push(d);
    s.onEnd = () => s.end();
    s.onClose = (e) => {
      serverClosed = true;
      serverErr = e;
    };
    s.write(down);
  });
  // Keep the handshake clean so the test is about data recovery.
  let established = false;
  net.drop = (f) => established && !!f.d.tcp && rng.below(100) < 5;
  const c = client.tcpConnect(server.ip, 80);
  let clientClosed = false;
  let clientErr: SocketError | undefined;
  c.onConnect = () => {
    established = true;
    c.write(up);
    c.end();
  };
  c.onData = (d) => clientGot.push(d);
  c.onClose = (e) => {
    clientClosed = true;
    clientErr = e;
  };
  assert.ok(clock.runUntil(() => clientClosed && serverClosed, 600_000), `stuck at ${clock.now()} ms`);
  assert.equal(clientErr, undefined);
  assert.equal(serverErr, undefined);
  assert.deepEqual(concat(serverGot), up);
  assert.deepEqual(concat(clientGot), down);
  assert.ok(client.stats.tcpRetransmits > 0 && server.stats.tcpRetransmits > 0);
});

test('a 3 s outage mid-transfer: RTO backs off, go-back-N refills the hole, nothing is lost', () => {
  const { clock, net, client, server } = pair();
  const got: Uint8Array[] = [];
  server.tcpListen(80, (s) => (s.onData = (d) => got.push(d)));
  const c = client.tcpConnect(server.ip, 80);
  let connected = false;
  c.onConnect = () => (connected = true);
  assert.ok(clock.runUntil(() => connected));
  const start = clock.now();
  net.drop = (f) => f.at >= start + 3 && f.at < start + 3003;
  const msg = pattern(300_000, 4);
  c.write(msg);
  assert.ok(clock.runUntil(() => concat(got).length === msg.length, 60_000));
  assert.deepEqual(concat(got), msg);
  const resent = net.framesFrom('client', (d) => !!d.tcp && d.tcp.payload.length > 0);
  const firstLostSeq = resent.find((f) => f.at >= start + 3)!.d.tcp!.seq;
  const tries = resent.filter((f) => f.d.tcp!.seq === firstLostSeq).map((f) => f.at - start);
  // Sent, then retransmitted with doubling gaps while the link is down, then once more after.
  const gaps = tries.slice(1).map((t, i) => t - tries[i]!);
  for (let i = 1; i < gaps.length; i++) assert.equal(gaps[i], gaps[i - 1]! * 2);
  assert.ok(tries[tries.length - 1]! >= 3003);
});

test('data to a black hole: retransmissions back off to ETIMEDOUT after tcp_retries2 = 15 (~15.5 min)', () => {
  const { clock, net, client, server } = pair();
  server.tcpListen(80, () => {});
  const c = client.tcpConnect(server.ip, 80);
  let connected = false;
  let err: SocketError | undefined;
  let closedAt = 0;
  c.onConnect = () => (connected = true);
  c.onClose = (e) => {
    err = e;
    closedAt = clock.now();
  };
  assert.ok(clock.runUntil(() => connected));
  const t0 = clock.now();
  net.drop = () => true;
  c.write(new Uint8Array(100));
  clock.runUntilIdle();
  const sends = net.framesFrom('client', (d) => !!d.tcp && d.tcp.payload.length > 0).map((f) => f.at - t0);
  assert.equal(sends.length, 16, 'original + 15 retransmissions');
  const gaps = sends.slice(1).map((t, i) => t - sends[i]!);
  assert.ok(gaps[0]! >= 200 && gaps[0]! < 210, `first RTO ${gaps[0]}`);
  for (let i = 1; i < gaps.length; i++) assert.equal(gaps[i], Math.min(gaps[i - 1]! * 2, 120_000));
  assert.equal(err?.code, 'ETIMEDOUT');
  const total = (closedAt - t0) / 1000;
  assert.ok(total > 920 && total < 930, `gave up after ${total} s`);
});

test('SYN-ACK is retransmitted at 1, 3, 7, 15, 31 s and the half-open connection dropped at 63 s', () => {
  const { clock, net, client, server } = pair();
  net.drop = (f) => f.from === 'client' && !!f.d.tcp && f.d.tcp.flags === ACK;
  const l = server.tcpListen(80, () => assert.fail('never established'));
  const c = client.tcpConnect(server.ip, 80);
  clock.advance(64_000);
  const synAcks = net.framesFrom('server', (d) => d.tcp?.flags === (SYN | ACK)).map((f) => f.at);
  assert.deepEqual(synAcks, [1, 1001, 3001, 7001, 15001, 31001]);
  assert.equal(l.pendingCount, 0);
  assert.equal(server.tcpSockets().length, 0);
  c.destroy();
});

test('synchronous delivery (no link delay): re-entrant frames wait for the next tick, events never fire inside the call', () => {
  const clock = new VirtualClock();
  const rng = new Rng(3);
  let a: NetStack | undefined = undefined;
  let b: NetStack | undefined = undefined;
  const route = (frame: Uint8Array): void => {
    const dst = (frame[30]! << 24) | (frame[31]! << 16) | (frame[32]! << 8) | frame[33]!;
    const target = dst >>> 0 === a!.ip ? a! : b!;
    frame[0] = 0x02; // rewrite to the target MAC as a router would
    for (let i = 0; i < 6; i++) frame[i] = Math.floor(target.mac / 2 ** (8 * (5 - i))) & 0xff;
    target.receive(frame);
  };
  const GW = 0x02_00_00_00_00_01;
  a = new NetStack({ name: 'a', ip: ip('10.0.1.1'), mac: 0x02_00_00_00_00_0a, gatewayIp: ip('10.0.0.1'), gatewayMac: GW, clock, rng: rng.fork(), transmit: route });
  b = new NetStack({ name: 'b', ip: ip('10.0.1.2'), mac: 0x02_00_00_00_00_0b, gatewayIp: ip('10.0.0.1'), gatewayMac: GW, clock, rng: rng.fork(), transmit: route });
  const events: string[] = [];
  let server: TcpSocket | undefined;
  b.tcpListen(80, (s) => {
    server = s;
    events.push('accept');
    s.onData = (d) => {
      events.push(`server data ${d.length}`);
      s.write(d);
    };
  });
  const c = a.tcpConnect(b.ip, 80);
  events.push('connect returned');
  c.onConnect = () => {
    events.push('connected');
    c.write(new Uint8Array(3000));
  };
  let echoed = 0;
  c.onData = (d) => (echoed += d.length);
  clock.runUntil(() => echoed === 3000, 10_000);
  assert.equal(events[0], 'connect returned');
  assert.ok(events.includes('connected') && events.includes('accept'));
  assert.equal(echoed, 3000);
  assert.equal(server!.state, 'ESTABLISHED');
  assert.equal(clock.now(), 0, 'all within one virtual instant');
});

test('a lost SYN-ACK: the repeated SYN is answered with the same SYN-ACK and the handshake completes', () => {
  const { clock, net, client, server } = pair();
  // The client's SYN retransmission and the server's SYN-ACK timer both fall at ~1 s; either way the same ISN returns.
  let dropped = 0;
  net.drop = (f) => f.from === 'server' && f.d.tcp?.flags === (SYN | ACK) && dropped++ === 0;
  let accepted = false;
  server.tcpListen(80, () => (accepted = true));
  const c = client.tcpConnect(server.ip, 80);
  let connected = false;
  c.onConnect = () => (connected = true);
  assert.ok(clock.runUntil(() => connected && accepted, 5000));
  const synAcks = net.framesFrom('server', (d) => d.tcp?.flags === (SYN | ACK));
  assert.ok(synAcks.length >= 2);
  assert.equal(synAcks[1]!.d.tcp!.seq, synAcks[0]!.d.tcp!.seq, 'same ISN');
  assert.ok(clock.now() < 1010);
});
