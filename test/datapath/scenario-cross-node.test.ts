// End to end: a TCP connection from a pod on node 1 to a service whose backend
// is on node 2, bytes checked at every hop, events and CT entries as Cilium
// shows them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, ip } from '../helpers/world.js';
import { dissectFrame } from '../../src/packet/dissect.js';
import { verifyTcpChecksum } from '../../src/packet/tcp.js';
import { internetChecksum } from '../../src/packet/checksum.js';
import { drainEvents, formatMonitorLine } from '../../src/datapath/monitor.js';
import type { TapEvent } from '../../src/net/node-kernel.js';

function setup() {
  const w = new World();
  const client = w.addPod('frontend', 0, '10.0.1.50', 12345);
  const server = w.addPod('backend', 1, '10.0.2.100', 23456);
  w.addService('10.96.100.10', 80, [{ addr: '10.0.2.100', port: 8080 }]);
  const received: Uint8Array[] = [];
  server.stack.tcpListen(8080, (s) => {
    s.onData = (b) => {
      received.push(b);
      s.write(new TextEncoder().encode('pong:' + new TextDecoder().decode(b)));
      s.end();
    };
  });
  return { w, client, server, received };
}

test('pod → service → backend on another node: socket LB, VXLAN with VNI = identity, delivery, reply', () => {
  const { w, client, server, received } = setup();
  const taps: TapEvent[] = [];
  for (const n of w.nodes) n.kernel.tap = (ev) => taps.push(ev);
  const wire: Uint8Array[] = [];
  w.underlay.addTap((f) => wire.push(f));

  const sock = client.stack.tcpConnect(ip('10.96.100.10'), 80);
  let reply = '';
  let peer = '';
  sock.onConnect = () => {
    const p = sock.peerName();
    peer = `${p.ip}:${p.port}`;
    sock.write(new TextEncoder().encode('ping'));
  };
  sock.onData = (b) => (reply += new TextDecoder().decode(b));
  sock.onEnd = () => sock.end();
  w.settle();

  assert.equal(reply, 'pong:ping');
  assert.equal(new TextDecoder().decode(received[0]), 'ping');
  // The app sees the service address, though the packets carry the backend's.
  assert.equal(peer, `${ip('10.96.100.10')}:80`);

  // Hop 1: the SYN as the pod sent it, already addressed to the backend (socket LB, no per-packet DNAT).
  const synHops = taps.filter((t) => {
    const d = dissectFrame(t.frame, 0, t.frame.length);
    const inner = d.vxlan?.inner ?? d;
    return inner.tcp && inner.tcp.flags === 0x02;
  });
  const where = synHops.map((t) => `${t.node}/${t.device}/${t.direction}`);
  assert.deepEqual(where, [
    `kind-worker/${client.ifName}/ingress`,
    'kind-worker/eth0/egress',
    'kind-worker2/eth0/ingress',
    'kind-worker2/cilium_vxlan/ingress',
    `kind-worker2/${server.ifName}/egress`,
  ]);
  const [fromPod, outer, , decapped, delivered] = synHops.map((t) => dissectFrame(t.frame, 0, t.frame.length));
  assert.equal(fromPod.ipv4!.dst, ip('10.0.2.100'));
  assert.equal(fromPod.tcp!.dstPort, 8080);
  assert.equal(fromPod.ipv4!.ttl, 64);
  // Hop 2: the underlay frame: node1 → node2 on UDP 8472, VNI = the client's identity.
  assert.equal(outer.ipv4!.src, ip('192.168.1.11'));
  assert.equal(outer.ipv4!.dst, ip('192.168.1.12'));
  assert.equal(outer.udp!.dstPort, 8472);
  assert.equal(outer.vxlan!.vni, 12345);
  assert.equal(outer.vxlan!.inner.ipv4!.src, ip('10.0.1.50'));
  // The inner frame crosses the overlay unchanged.
  const innerSyn = synHops[1]!.frame.subarray(50);
  assert.deepEqual(synHops[3]!.frame, innerSyn);
  assert.equal(decapped.ipv4!.ttl, 64);
  // Hop 3: delivered into the backend pod: TTL decremented, MACs rewritten, checksums valid.
  assert.equal(delivered.ipv4!.ttl, 63);
  assert.equal(delivered.eth!.dst, server.ep.mac);
  assert.equal(delivered.eth!.src, server.ep.hostMac);
  for (const t of synHops) {
    const d = dissectFrame(t.frame, 0, t.frame.length);
    const inner = d.vxlan?.inner ?? d;
    const off = (d.vxlan ? 50 : 0) + 14;
    assert.equal(internetChecksum(t.frame, off, 20), 0, `IPv4 checksum at ${t.device}`);
    assert.equal(verifyTcpChecksum(t.frame, off + 20, inner.ipv4!.payloadLen, inner.ipv4!.src, inner.ipv4!.dst), 0, `TCP checksum at ${t.device}`);
  }
  assert.ok(wire.length >= 6, 'both directions crossed the underlay');
});

test('events read as cilium monitor prints them on each node', () => {
  const { w, client } = setup();
  const sock = client.stack.tcpConnect(ip('10.96.100.10'), 80, { srcPort: 43210 });
  sock.onConnect = () => sock.write(new TextEncoder().encode('ping'));
  sock.onEnd = () => sock.end();
  w.settle();
  const [n1, n2] = w.nodes;
  const ifName = (k: typeof n1.kernel) => (i: number) => k.deviceName(i);
  const lines1 = drainEvents(n1!.dp.events).filter((e) => e.type !== 'trace-sock').map((e) => formatMonitorLine(e, { ifName: ifName(n1!.kernel) }));
  const lines2 = drainEvents(n2!.dp.events).map((e) => formatMonitorLine(e, { ifName: ifName(n2!.kernel) }));
  const flow = lines1[0]!.match(/flow (0x[0-9a-f]+)/)![1];
  assert.equal(lines1[0], `-> overlay flow ${flow} , identity 12345->23456 state new ifindex cilium_vxlan orig-ip 0.0.0.0: 10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN`);
  assert.match(lines1[1]!, new RegExp(`^-> endpoint 1234 flow ${flow} , identity 23456->12345 state reply ifindex lxc[0-9a-f]{12} orig-ip 10.0.2.100: 10.0.2.100:8080 -> 10.0.1.50:43210 tcp SYN, ACK$`));
  assert.equal(lines1[2], `-> overlay flow ${flow} , identity 12345->23456 state established ifindex cilium_vxlan orig-ip 0.0.0.0: 10.0.1.50:43210 -> 10.0.2.100:8080 tcp ACK`);
  assert.match(lines2[0]!, new RegExp(`^-> endpoint 1235 flow ${flow} , identity 12345->23456 state new ifindex lxc[0-9a-f]{12} orig-ip 10.0.1.50: 10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN$`));
  assert.equal(lines2[1], `-> overlay flow ${flow} , identity 23456->12345 state reply ifindex cilium_vxlan orig-ip 0.0.0.0: 10.0.2.100:8080 -> 10.0.1.50:43210 tcp SYN, ACK`);
  // Trace-sock events show the socket LB translation on node 1.
  const sockEvents = drainEvents(n1!.dp.events);
  assert.equal(sockEvents.length, 0, 'ring drained');
});
