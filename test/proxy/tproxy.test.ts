// The proxy's transparent sockets on their own: accept a connection addressed
// to any IP:port (TPROXY), connect from an address that is not the proxy's
// (IP_TRANSPARENT), and every frame leaves with the skb mark registered for
// its 4-tuple.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';
import { drive } from '../../src/util/drive.js';
import { NetStack } from '../../src/net/stack/index.js';
import { writeMac } from '../../src/packet/mac.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { frameTuple, TransparentNetns } from '../../src/proxy/index.js';
import { ip } from '../helpers/world.js';

const GW = ip('10.0.0.1');
const GW_MAC = 0x02_00_00_00_00_01;
const FALLBACK = 0xf00;

/** A peer stack whose gateway is the proxy namespace, and the namespace sending back to it. */
function pair(peerIp: string): { clock: VirtualClock; peer: NetStack; netns: TransparentNetns; sent: { mark: number; src: number; dst: number }[] } {
  const clock = new VirtualClock(0);
  const rng = new Rng(3);
  const sent: { mark: number; src: number; dst: number }[] = [];
  const peerMac = 0x02_00_00_00_00_77;
  const box: { peer?: NetStack } = {};
  const netns = new TransparentNetns({
    clock,
    rng: rng.fork(),
    mac: 0x02_00_00_00_00_99,
    gatewayMac: GW_MAC,
    gatewayIp: GW,
    transmit: (f, mark) => {
      const t = frameTuple(f)!.t;
      sent.push({ mark, src: t.srcIp, dst: t.dstIp });
      writeMac(f, 0, peerMac);
      clock.setTimer(0.01, () => box.peer!.receive(f));
    },
    fallbackMark: () => FALLBACK,
  });
  const peer = new NetStack({ name: 'peer', ip: ip(peerIp), mac: peerMac, gatewayIp: GW, gatewayMac: GW_MAC, clock, rng: rng.fork(), transmit: (f) => clock.setTimer(0.01, () => netns.receive(f)) });
  box.peer = peer;
  return { clock, peer, netns, sent };
}

test('IP_TRANSPARENT connect: the server sees the client’s address, the proxy’s frames carry the registered mark', async () => {
  const { clock, peer: server, netns, sent } = pair('10.0.2.100');
  let seenFrom = 0;
  let got = '';
  server.tcpListen(8080, (s) => {
    seenFrom = s.remoteIp;
    s.onData = (b) => {
      got += new TextDecoder().decode(b);
      s.write(new TextEncoder().encode('pong'));
      s.end();
    };
  });
  const up = netns.connect(ip('10.0.1.50'), ip('10.0.2.100'), 8080, 0x1234_0900);
  let reply = '';
  const done = new Promise<void>((resolve) => {
    up.onConnect = () => up.write(new TextEncoder().encode('ping'));
    up.onData = (b) => (reply += new TextDecoder().decode(b));
    up.onEnd = () => {
      up.end();
      resolve();
    };
  });
  await drive(clock, done);
  assert.equal(seenFrom, ip('10.0.1.50'));
  assert.equal(got, 'ping');
  assert.equal(reply, 'pong');
  assert.ok(up.localPort >= 32768 && up.localPort <= 60999, String(up.localPort));
  assert.ok(sent.length >= 3, 'SYN, ACK, data, FIN at least');
  assert.deepEqual([...new Set(sent.map((s) => s.mark))], [0x1234_0900]);
  assert.ok(sent.every((s) => s.src === ip('10.0.1.50')), 'every frame from the client address');
  assert.deepEqual(netns.addresses, [ip('10.0.1.50')]);
});

test('TPROXY listen: a connection to any address is accepted there; replies use the mark set for the tuple, else the fallback', async () => {
  const { clock, peer: client, netns, sent } = pair('10.0.1.50');
  const target = ip('10.96.0.77');
  let accepted: { ip: number; port: number } | undefined;
  netns.listen(target, 9090, (s) => {
    accepted = { ip: s.localIp, port: s.localPort };
    s.onData = () => s.write(new TextEncoder().encode('hi'));
  });
  // Replies of this connection speak for the target with mark 0x0a00.
  const c = client.tcpConnect(target, 9090, { srcPort: 40000 });
  netns.setMark({ proto: IpProto.TCP, srcIp: target, srcPort: 9090, dstIp: ip('10.0.1.50'), dstPort: 40000 }, 0x0a00);
  let got = '';
  const done = new Promise<void>((resolve) => {
    c.onConnect = () => c.write(new TextEncoder().encode('hello'));
    c.onData = (b) => {
      got += new TextDecoder().decode(b);
      resolve();
    };
  });
  await drive(clock, done);
  assert.deepEqual(accepted, { ip: target, port: 9090 });
  assert.equal(got, 'hi');
  assert.deepEqual([...new Set(sent.map((s) => s.mark))], [0x0a00]);

  // Nothing listens on another port of that address: the reset leaves with the fallback mark.
  const refused = client.tcpConnect(target, 9191);
  const err = await drive(clock, new Promise((resolve) => (refused.onClose = (e) => resolve(e?.code))));
  assert.equal(err, 'ECONNREFUSED');
  assert.equal(sent.at(-1)!.mark, FALLBACK);
});
