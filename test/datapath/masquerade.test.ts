// Pods reach hosts outside the cluster (world) through BPF masquerading:
// the external host sees the node's address; replies are reverse-NATed in
// cil_from_netdev and delivered through the pod's ingress path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, ip } from '../helpers/world.js';
import { NetStack } from '../../src/net/stack/stack.js';
import { UNDERLAY_GATEWAY_MAC } from '../../src/net/underlay.js';
import { dissectFrame } from '../../src/packet/dissect.js';
import { drainEvents, formatMonitorLine } from '../../src/datapath/monitor.js';
import { formatCtList } from '../../src/datapath/dump.js';
import { buildTcpFrame } from '../../src/packet/build.js';
import { TcpFlags } from '../../src/packet/tcp.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { CT_TUPLE, TupleFlags } from '../../src/datapath/ct.js';
import { NAT_ENTRY } from '../../src/datapath/maps.js';
import { fillCtKey } from '../../src/datapath/sim/lib/conntrack.js';

function withExternalHost() {
  const w = new World();
  const ext = new NetStack({
    name: 'ext',
    ip: ip('192.168.1.100'),
    mac: 0x02_42_c0_a8_01_64,
    gatewayIp: ip('192.168.1.1'),
    gatewayMac: UNDERLAY_GATEWAY_MAC,
    clock: w.clock,
    rng: w.rng.fork(),
    transmit: (f) => w.underlay.send(f),
  });
  w.underlay.attach({ ip: ext.localIp, mac: 0x02_42_c0_a8_01_64, receive: (b, o, l) => ext.receive(b.slice(o, o + l)) });
  const seen: string[] = [];
  ext.tcpListen(80, (s) => {
    seen.push(`${s.remoteIp}:${s.remotePort}`);
    s.onData = () => {
      s.write(new TextEncoder().encode('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'));
      s.end();
    };
  });
  return { w, ext, seen };
}

test('pod → external host: masqueraded to the node IP, reply delivered back to the pod', () => {
  const { w, seen } = withExternalHost();
  const pod = w.addPod('frontend', 0, '10.0.1.50', 12345);
  const wire: Uint8Array[] = [];
  w.underlay.addTap((f) => wire.push(f));
  let reply = '';
  const sock = pod.stack.tcpConnect(ip('192.168.1.100'), 80);
  sock.onConnect = () => sock.write(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'));
  sock.onData = (b) => (reply += new TextDecoder().decode(b));
  sock.onEnd = () => sock.end();
  w.settle();
  assert.match(reply, /hello$/);
  // The external host saw the node's address, not the pod's.
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.split(':')[0], String(ip('192.168.1.11')));
  const syn = dissectFrame(wire[0]!, 0, wire[0]!.length);
  assert.equal(syn.ipv4!.src, ip('192.168.1.11'));
  assert.equal(syn.ipv4!.dst, ip('192.168.1.100'));
  assert.equal(syn.ipv4!.ttl, 63, 'the node forwarded it');
  assert.equal(syn.vxlan, undefined, 'world traffic is not tunnelled');
  // The pod's CT entry is for the world address; the reply path found it (no policy on the way back).
  const n1 = w.nodes[0]!;
  assert.match(formatCtList(n1.dp.ct4, n1.dp.ctAny4), /TCP OUT 10\.0\.1\.50:\d+ -> 192\.168\.1\.100:80 /);
  const lines = drainEvents(n1.dp.events).map((e) => formatMonitorLine(e, { ifName: (i) => n1.kernel.deviceName(i) }));
  assert.ok(lines.some((l) => /^-> stack flow 0x[0-9a-f]+ , identity 12345->world state new .*10\.0\.1\.50:\d+ -> 192\.168\.1\.100:80 tcp SYN$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^-> endpoint 1234 flow 0x[0-9a-f]+ , identity world->12345 state reply .*192\.168\.1\.100:80 -> 10\.0\.1\.50:\d+ tcp SYN, ACK$/.test(l)), lines.join('\n'));
});

test('ping from a pod to an external host is masqueraded too', () => {
  const { w } = withExternalHost();
  const pod = w.addPod('frontend', 1, '10.0.2.50', 12345);
  let ttl = 0;
  pod.stack.ping(ip('192.168.1.100'), { seq: 1, onReply: (_rtt, t) => (ttl = t) });
  w.settle(10_000);
  assert.equal(ttl, 63);
});

test('unsolicited traffic from the world to the node is not delivered to pods', () => {
  const { w, ext } = withExternalHost();
  w.addPod('frontend', 0, '10.0.1.50', 12345);
  let err = '';
  const s = ext.tcpConnect(ip('192.168.1.11'), 40000);
  s.onClose = (e) => (err = e?.code ?? 'closed');
  w.settle(200_000);
  assert.notEqual(err, '');
  assert.equal(w.nodes[0]!.kernel.stats.deliveredToPods, 0);
});

test('reverse SNAT looks up only ports in the NAT range (snat_v4_rev_nat_can_skip): a mapping below it is never used', () => {
  const { w } = withExternalHost();
  w.addPod('frontend', 0, '10.0.1.50', 12345);
  const n1 = w.nodes[0]!;
  const nodeIp = ip('192.168.1.11');
  // Hand-written mappings ext:80 → node:port ⇒ pod 10.0.1.50:5000, one outside and one inside 32768-65535.
  const mapTo = (port: number) => {
    const key = new Uint8Array(CT_TUPLE.SIZE);
    fillCtKey(key, ip('192.168.1.100'), nodeIp, 80, port, IpProto.TCP, TupleFlags.IN);
    const value = new Uint8Array(NAT_ENTRY.SIZE);
    const v = new DataView(value.buffer);
    v.setUint32(NAT_ENTRY.TO_ADDR, ip('10.0.1.50'));
    v.setUint16(NAT_ENTRY.TO_PORT, 5000);
    assert.equal(n1.dp.snat.update(key, value), 0);
  };
  const synTo = (port: number) =>
    buildTcpFrame({ srcMac: 0x02_42_c0_a8_01_64, dstMac: n1.kernel.mac, srcIp: ip('192.168.1.100'), dstIp: nodeIp, srcPort: 80, dstPort: port, seq: 1, flags: TcpFlags.SYN });
  mapTo(2000);
  mapTo(40000);
  w.underlay.send(synTo(2000));
  w.settle(1000);
  assert.equal(n1.kernel.stats.deliveredToPods, 0, 'port 2000 is below the NAT range: no lookup, not delivered');
  w.underlay.send(synTo(40000));
  w.settle(1000);
  assert.ok(n1.kernel.stats.deliveredToPods > 0, 'port 40000 is reverse-NATed to the pod');
});
