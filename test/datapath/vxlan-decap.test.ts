// The kernel's VXLAN receive path (NodeKernel.receive): which outer headers it
// decapsulates, which it drops as malformed VXLAN, and which it leaves to the
// stack; the header checksum is checked inline for 20-byte headers and by
// checkIpv4 for headers with options.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from '../../src/cluster/testbed.js';
import { buildTcpFrame } from '../../src/packet/build.js';
import { internetChecksum, writeU16 } from '../../src/packet/checksum.js';
import { VXLAN_ENCAP_OVERHEAD, vxlanFlowSourcePort, writeVxlanEncap } from '../../src/packet/vxlan.js';

function setup() {
  let delivered = 0;
  const w = new World({ immediate: true, podReceive: () => delivered++ });
  const client = w.addPod('client', 0, '10.0.1.50', 12345);
  const server = w.addPod('server', 1, '10.0.2.100', 23456);
  const n0 = w.nodes[0]!;
  const n1 = w.nodes[1]!;
  const inner = buildTcpFrame({ srcMac: 0x0a0000000201, dstMac: 0x0a0000000101, srcIp: server.ip, dstIp: client.ip, srcPort: 8080, dstPort: 40000, seq: 7, flags: 0x02 });
  /** A VXLAN frame from node 1 to node 0, `options` bytes of IPv4 options (NOPs) in the outer header. */
  const frame = (options = 0): Uint8Array => {
    const out = new Uint8Array(VXLAN_ENCAP_OVERHEAD + options + inner.length);
    out.set(inner, VXLAN_ENCAP_OVERHEAD + options);
    const enc = new Uint8Array(VXLAN_ENCAP_OVERHEAD + inner.length);
    enc.set(inner, VXLAN_ENCAP_OVERHEAD);
    writeVxlanEncap(enc, 0, inner.length, { srcMac: n1.dp.cfg.nodeMac, dstMac: n0.dp.cfg.nodeMac, srcIp: n1.dp.cfg.nodeIp, dstIp: n0.dp.cfg.nodeIp, srcPort: vxlanFlowSourcePort(5), vni: 23456 });
    out.set(enc.subarray(0, 34), 0);
    out.fill(1, 34, 34 + options);
    out.set(enc.subarray(34, VXLAN_ENCAP_OVERHEAD), 34 + options);
    if (options) {
      out[14] = 0x45 + options / 4;
      writeU16(out, 16, 20 + options + 16 + inner.length);
      writeU16(out, 24, 0);
      writeU16(out, 24, internetChecksum(out, 14, 20 + options));
    }
    return out;
  };
  const refix = (f: Uint8Array): Uint8Array => {
    const ihl = (f[14]! & 0x0f) * 4;
    writeU16(f, 24, 0);
    writeU16(f, 24, internetChecksum(f, 14, ihl));
    return f;
  };
  return { k: n0.kernel, frame, refix, delivered: () => delivered };
}

test('valid VXLAN to the node is decapsulated and delivered, with or without outer IPv4 options', () => {
  const s = setup();
  s.k.receive(s.frame());
  s.k.receive(s.frame(4));
  s.k.receive(s.frame(8));
  assert.equal(s.k.stats.decapsulated, 3);
  assert.equal(s.delivered(), 3);
  assert.equal(s.k.stats.dropped, 0);
});

test('malformed VXLAN for the node is dropped by the driver: checksum, lengths, fragments, I flag, options', () => {
  const s = setup();
  const cases: [string, (f: Uint8Array) => Uint8Array][] = [
    ['bad checksum', (f) => ((f[24]! ^= 0x10), f)],
    ['checksum of a flipped TTL not fixed', (f) => ((f[22]! ^= 1), f)],
    ['total length past the frame', (f) => s.refix((writeU16(f, 16, f.length), f))],
    ['total length below the header', (f) => s.refix((writeU16(f, 16, 19), f))],
    ['total length too short for the inner Ethernet header', (f) => s.refix((writeU16(f, 16, 20 + 16 + 13), f))],
    ['more fragments', (f) => s.refix(((f[20]! |= 0x20), f))],
    ['fragment offset', (f) => s.refix(((f[21]! = 1), f))],
    ['no I flag', (f) => ((f[42]! = 0), f)],
    ['version 6 in the outer header', (f) => s.refix(((f[14]! = 0x65), f))],
  ];
  for (const [name, mutate] of cases) {
    const before = s.k.stats.dropped;
    s.k.receive(mutate(s.frame()));
    assert.equal(s.k.stats.dropped, before + 1, name);
  }
  // Options: a bad option length, and a bad checksum over a 24-byte header.
  const badOpt = s.frame(4);
  badOpt[34] = 7;
  badOpt[35] = 9;
  s.k.receive(s.refix(badOpt));
  const badSum = s.frame(4);
  badSum[35] ^= 2;
  s.k.receive(badSum);
  assert.equal(s.k.stats.decapsulated, 0);
  assert.equal(s.delivered(), 0);
});

test('frames that are not VXLAN for the node go up the stack, not to the driver', () => {
  const s = setup();
  const notUs = s.frame();
  notUs[33] ^= 1; // another destination address
  s.k.receive(s.refix(notUs));
  const otherPort = s.frame();
  writeU16(otherPort, 36, 4789);
  s.k.receive(otherPort);
  const short = s.frame().subarray(0, 41);
  s.k.receive(short);
  assert.equal(s.k.stats.decapsulated, 0);
  assert.equal(s.k.stats.dropped, 0);
  assert.equal(s.k.stats.unroutable + s.k.stats.toHost + s.k.stats.forwarded, 3);
});
