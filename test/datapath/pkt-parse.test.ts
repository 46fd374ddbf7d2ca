// loadIp4() reads neighbouring header fields as whole words. It must fill
// Ip4Info and return exactly what a field-by-field parse does (the reference
// below, the previous implementation) for TCP, UDP, ICMP and other protocols,
// header options, fragments and truncation at every length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SkBuff } from '../../src/datapath/skb.js';
import { Ip4Info, loadIp4 } from '../../src/datapath/sim/lib/pkt.js';
import { checkIpv4Structure } from '../../src/packet/ipv4.js';
import { buildIcmpEchoFrame, buildTcpFrame, buildUdpFrame } from '../../src/packet/build.js';
import { Rng } from '../../src/util/rng.js';

/** The field-by-field parse loadIp4() must match (byte reads only). */
function reference(buf: Uint8Array, off: number, len: number, info: Ip4Info): number {
  const u16 = (o: number) => (buf[o] << 8) | buf[o + 1];
  const u32 = (o: number) => ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  const l3 = off + 14;
  const avail = len - 14;
  if (avail < 20) return 134;
  const verIhl = buf[l3];
  const totalLen = u16(l3 + 2);
  if (verIhl === 0x45) {
    if (totalLen < 20 || totalLen > avail) return 134;
  } else if (checkIpv4Structure(buf, l3, avail) !== 0) return 134;
  const ihl = (verIhl & 0x0f) * 4;
  Object.assign(info, { l3, l4: l3 + ihl, l4len: totalLen - ihl, totalLen, src: u32(l3 + 12), dst: u32(l3 + 16), proto: buf[l3 + 9], ttl: buf[l3 + 8] });
  Object.assign(info, { sport: 0, dport: 0, tcpFlags: 0, icmpType: -1, icmpCode: -1, innerValid: false });
  if (u16(l3 + 6) & 0x3fff) return 157;
  const l4 = info.l4;
  if (info.proto === 6) {
    if (info.l4len < 20) return 135;
    Object.assign(info, { sport: u16(l4), dport: u16(l4 + 2), tcpFlags: buf[l4 + 13] });
    return 0;
  }
  if (info.proto === 17 || info.proto === 132) {
    if (info.l4len < 8) return 135;
    Object.assign(info, { sport: u16(l4), dport: u16(l4 + 2) });
    return 0;
  }
  return -1; // ICMP: compared by field only up to here (loadIcmp is unchanged)
}

const FIELDS = ['l3', 'l4', 'l4len', 'totalLen', 'src', 'dst', 'proto', 'ttl', 'sport', 'dport', 'tcpFlags'] as const;

test('loadIp4 matches a field-by-field parse on mutated TCP, UDP, ICMP and other frames', () => {
  const rng = new Rng(42);
  const base = [
    buildTcpFrame({ srcMac: 1, dstMac: 2, srcIp: 0xc0a80101, dstIp: 0x0a000264, srcPort: 40000, dstPort: 8080, seq: 1, flags: 0x12, payload: new Uint8Array(10) }),
    buildUdpFrame({ srcMac: 1, dstMac: 2, srcIp: 0x0a000132, dstIp: 0xfe000001, srcPort: 53, dstPort: 65535, payload: new Uint8Array(4) }),
    buildIcmpEchoFrame({ srcMac: 1, dstMac: 2, srcIp: 0x0a000132, dstIp: 0x0a000264, echoIdent: 7, seq: 1 }),
  ];
  const ctx = new SkBuff();
  const got = new Ip4Info();
  const want = new Ip4Info();
  let parsed = 0;
  for (let i = 0; i < 6000; i++) {
    const f = base[i % base.length].slice();
    const l3 = 14;
    // Mutate: protocol, fragment bits, version/IHL, total length, or truncate.
    const what = rng.u32() % 6;
    if (what === 0) f[l3 + 9] = [6, 17, 132, 1, 47][rng.u32() % 5];
    if (what === 1) f[l3 + 6] = rng.u32() % 2 ? 0x20 : 0x40 | (rng.u32() & 1);
    if (what === 2) f[l3] = [0x45, 0x46, 0x4f, 0x44, 0x55][rng.u32() % 5];
    if (what === 3) f[l3 + 3] = rng.u32() & 0xff;
    const len = what === 4 ? rng.u32() % f.length : f.length;
    ctx.load(f, 0, len, 16 + (rng.u32() % 40));
    const r = loadIp4(ctx, got);
    const e = reference(ctx.buf, ctx.off, ctx.len, want);
    if (e === -1) {
      // ICMP: loadIcmp's own result; the IP fields must still agree.
      for (const k of FIELDS.slice(0, 8)) assert.equal(got[k], want[k], `${k} (frame ${i})`);
      continue;
    }
    assert.equal(r, e, `result (frame ${i})`);
    if (r === 134) continue;
    parsed++;
    for (const k of FIELDS) assert.equal(got[k], want[k], `${k} (frame ${i})`);
    assert.equal(got.icmpType, -1);
    assert.equal(got.innerValid, false);
  }
  assert.ok(parsed > 1000);
});
