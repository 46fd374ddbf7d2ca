import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/util/clock.js';
import type { TcpSocket } from '../../../src/net/stack/index.js';
import { ETH } from '../../../src/packet/ethernet.js';
import { Ipv4Packet } from '../../../src/packet/ipv4.js';
import { writeMac } from '../../../src/packet/mac.js';
import { TestNet, concat, ip, pattern } from './link.js';

test('TCP to 127.0.0.1 and to the pod’s own IP goes over lo: data flows, nothing leaves eth0', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const pod = net.host('pod', '10.0.1.10');
  pod.tcpListen(8080, (s) => {
    s.onData = (d) => s.write(d);
    s.onEnd = () => s.end();
  });
  for (const dst of [ip('127.0.0.1'), pod.ip]) {
    const c: TcpSocket = pod.tcpConnect(dst, 8080);
    const got: Uint8Array[] = [];
    let closed = false;
    c.onConnect = () => {
      c.write(pattern(10_000));
      c.end();
    };
    c.onData = (d) => got.push(d);
    c.onClose = (e) => {
      assert.equal(e, undefined);
      closed = true;
    };
    assert.ok(clock.runUntil(() => closed, 5000));
    assert.deepEqual(concat(got), pattern(10_000));
    assert.equal(c.localIp, dst === pod.ip ? pod.ip : ip('127.0.0.1'));
  }
  assert.equal(net.sent.length, 0);
  assert.equal(pod.stats.txFrames, 0);
  assert.ok(pod.stats.loopbackFrames > 20);
});

test('UDP and ping over lo; 127/8 arriving on eth0 is ignored', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const pod = net.host('pod', '10.0.1.10');
  const srv = pod.udpBind(53);
  srv.onMessage = (b, fromIp, fromPort) => srv.sendTo(fromIp, fromPort, b);
  const cli = pod.udpBind();
  const from: number[] = [];
  cli.onMessage = (_b, fromIp) => from.push(fromIp);
  cli.sendTo(ip('127.0.0.1'), 53, new Uint8Array([1]));
  let rtt = -1;
  pod.ping(ip('127.0.0.1'), { seq: 1, onReply: (ms) => (rtt = ms) });
  clock.runUntilIdle();
  assert.deepEqual(from, [ip('127.0.0.1')]);
  assert.equal(rtt, 0);
  assert.equal(net.sent.length, 0);

  const other = net.host('other', '10.0.1.11');
  other.ping(pod.ip, { seq: 1, onReply: () => {} });
  const frame = net.sent[0]!.frame.slice();
  const ipHeader = new Ipv4Packet(frame, ETH.HEADER_LEN);
  ipHeader.dst = ip('127.0.0.1');
  ipHeader.fillChecksum();
  writeMac(frame, ETH.DST, pod.mac);
  const before = pod.stats.rxNotForUs;
  pod.receive(frame);
  assert.equal(pod.stats.rxNotForUs, before + 1);
});
