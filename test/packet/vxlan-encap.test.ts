// writeVxlanEncap (the VXLAN driver's 50 outer bytes, checksum summed from the
// field values) against a byte-by-byte reference with the checksum computed
// over the written header, for random and edge-case field values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internetChecksum, writeU16, writeU32 } from '../../src/packet/checksum.js';
import { writeMac } from '../../src/packet/mac.js';
import { VXLAN_ENCAP_OVERHEAD, VXLAN_PORT, writeVxlanEncap, type VxlanOuter } from '../../src/packet/vxlan.js';
import { Rng } from '../../src/util/rng.js';

function reference(buf: Uint8Array, off: number, innerLen: number, o: VxlanOuter): void {
  writeMac(buf, off, o.dstMac);
  writeMac(buf, off + 6, o.srcMac);
  writeU16(buf, off + 12, 0x0800);
  const ip = off + 14;
  const udpLen = 16 + innerLen;
  buf[ip] = 0x45;
  buf[ip + 1] = 0;
  writeU16(buf, ip + 2, 20 + udpLen);
  writeU16(buf, ip + 4, o.ident ?? 0);
  writeU16(buf, ip + 6, 0);
  buf[ip + 8] = o.ttl ?? 64;
  buf[ip + 9] = 17;
  writeU16(buf, ip + 10, 0);
  writeU32(buf, ip + 12, o.srcIp);
  writeU32(buf, ip + 16, o.dstIp);
  writeU16(buf, ip + 10, internetChecksum(buf, ip, 20));
  const udp = ip + 20;
  writeU16(buf, udp, o.srcPort);
  writeU16(buf, udp + 2, VXLAN_PORT);
  writeU16(buf, udp + 4, udpLen);
  writeU16(buf, udp + 6, 0);
  writeU32(buf, udp + 8, 0x08000000);
  writeU32(buf, udp + 12, (o.vni & 0xffffff) << 8);
}

test('writeVxlanEncap writes the same 50 bytes as a byte-by-byte encapsulation with a summed checksum', () => {
  const rng = new Rng(9);
  const u32 = (): number => rng.below(0x10000) * 0x10000 + rng.below(0x10000);
  const mac = (): number => rng.below(0x10000) * 0x1_0000_0000 + u32();
  const edge = [0, 1, 0xffff, 0xfffe, 0x7fff, 0x8000];
  for (let i = 0; i < 5000; i++) {
    const o: VxlanOuter = {
      srcMac: i % 7 === 0 ? 0xffff_ffff_ffff : mac(),
      dstMac: i % 11 === 0 ? 0 : mac(),
      srcIp: i % 13 === 0 ? 0xffffffff : u32(),
      dstIp: i % 17 === 0 ? 0 : u32(),
      srcPort: i % 5 === 0 ? edge[i % edge.length]! : rng.below(0x10000),
      vni: u32(),
      ttl: i % 3 === 0 ? undefined : rng.below(256),
      ident: i % 4 === 0 ? undefined : edge[i % edge.length]! ^ rng.below(0x10000),
    };
    const innerLen = i % 9 === 0 ? 0xffff - 36 : rng.below(1500);
    const off = rng.below(8);
    const got = new Uint8Array(off + VXLAN_ENCAP_OVERHEAD + 4);
    const want = new Uint8Array(got.length);
    writeVxlanEncap(got, off, innerLen, o);
    reference(want, off, innerLen, o);
    assert.deepEqual(got, want, JSON.stringify({ o, innerLen, off }));
    assert.equal(internetChecksum(got, off + 14, 20), 0);
  }
});
