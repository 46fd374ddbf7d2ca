import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checksumUpdate16,
  checksumUpdate32,
  cidrContains,
  finishChecksum,
  internetChecksum,
  ipv4ToString,
  isParseFailure,
  macToString,
  onesComplementSum,
  parseCidr,
  parseIpv4Addr,
  parseMac,
  prefixMask,
  pseudoHeaderSumV4,
  readMac,
  readU16,
  writeMac,
  writeU16,
} from '../../src/packet/index.js';
import { Rng } from '../../src/util/rng.js';

test('ipv4 address strings', () => {
  assert.equal(parseIpv4Addr('10.0.1.50'), 0x0a000132);
  assert.equal(parseIpv4Addr('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4Addr('0.0.0.0'), 0);
  for (const bad of ['10.0.1', '10.0.1.256', '10.0.01.1', ' 10.0.0.1', '10.0.0.1.', 'a.b.c.d', '1..2.3', '-1.0.0.0', '']) {
    assert.equal(parseIpv4Addr(bad), null, bad);
  }
  assert.equal(ipv4ToString(0xc0a8010c), '192.168.1.12');
  assert.equal(ipv4ToString(0xffffffff), '255.255.255.255');
  assert.equal(ipv4ToString(-1), '255.255.255.255');
});

test('cidr parsing and containment', () => {
  assert.deepEqual(parseCidr('10.0.1.77/24'), { addr: 0x0a000100, prefixLen: 24 });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { addr: 0, prefixLen: 0 });
  assert.deepEqual(parseCidr('1.2.3.4'), { addr: 0x01020304, prefixLen: 32 });
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('10.0.0.0/'), null);
  assert.equal(parseCidr('10.0.0.0/08'), null);
  assert.equal(prefixMask(0), 0);
  assert.equal(prefixMask(8), 0xff000000);
  assert.equal(prefixMask(32), 0xffffffff);
  assert.equal(prefixMask(31), 0xfffffffe);
  assert.ok(cidrContains(0x0a000000, 8, 0x0afffffe));
  assert.ok(!cidrContains(0x0a000000, 8, 0x0b000000));
  assert.ok(cidrContains(0, 0, 0xdeadbeef));
  assert.ok(cidrContains(0xc0a8010c, 32, 0xc0a8010c));
  assert.ok(!cidrContains(0xc0a8010c, 32, 0xc0a8010d));
});

test('mac addresses', () => {
  const m = parseMac('CE:38:1f:4b:21:dd');
  assert.equal(m, 0xce381f4b21dd);
  assert.equal(macToString(0xce381f4b21dd), 'ce:38:1f:4b:21:dd');
  assert.equal(macToString(0xffffffffffff), 'ff:ff:ff:ff:ff:ff');
  assert.equal(macToString(1), '00:00:00:00:00:01');
  assert.equal(parseMac('ce:38:1f:4b:21'), null);
  assert.equal(parseMac('ce:38:1f:4b:21:dg'), null);
  const buf = new Uint8Array(8);
  writeMac(buf, 1, 0xfacE3cde8bf8);
  assert.deepEqual([...buf], [0, 0xfa, 0xce, 0x3c, 0xde, 0x8b, 0xf8, 0]);
  assert.equal(readMac(buf, 1), 0xface3cde8bf8);
});

test('RFC 1071 checksum: known answer 0xb861 and re-sum to 0xffff', () => {
  // 20-byte IPv4 header 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF, total length 115.
  // By hand: 4500+0073+0000+4000+4011+0000+c0a8+0001+c0a8+00c7 = 0x2479c,
  // folded 0x479c+0x2 = 0x479e, complement = 0xb861.
  const hdr = Uint8Array.from([
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
  ]);
  const c = internetChecksum(hdr, 0, hdr.length);
  assert.equal(c, 0xb861);
  writeU16(hdr, 10, c);
  const folded = onesComplementSum(hdr, 0, hdr.length);
  assert.equal(folded, 0xffff);
  assert.equal(internetChecksum(hdr, 0, hdr.length), 0);
});

test('checksum of odd length pads with a zero byte', () => {
  const odd = Uint8Array.from([0x01, 0x02, 0x03]);
  // 0x0102 + 0x0300 = 0x0402 -> ~ = 0xfbfd
  assert.equal(internetChecksum(odd, 0, 3), 0xfbfd);
  // Offset honoured.
  const shifted = Uint8Array.from([0xff, 0x01, 0x02, 0x03]);
  assert.equal(internetChecksum(shifted, 1, 3), 0xfbfd);
  assert.equal(finishChecksum(0x1fffe), 0x0000);
  assert.equal(finishChecksum(0), 0xffff);
});

test('pseudo header sum', () => {
  assert.equal(pseudoHeaderSumV4(0x0a000132, 0x0a000264, 6, 40), 0x0a00 + 0x0132 + 0x0a00 + 0x0264 + 6 + 40);
});

test('incremental checksum update equals full recomputation (randomised)', () => {
  const rng = new Rng(1624);
  for (let iter = 0; iter < 2000; iter++) {
    const len = 2 * (2 + rng.below(40));
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) data[i] = rng.u32() & 0xff;
    const csum = internetChecksum(data, 0, len);
    if (rng.below(2) === 0) {
      const at = 2 * rng.below(len / 2);
      const oldWord = readU16(data, at);
      const newWord = rng.below(8) === 0 ? 0 : rng.u32() & 0xffff;
      writeU16(data, at, newWord);
      assert.equal(checksumUpdate16(csum, oldWord, newWord), internetChecksum(data, 0, len), `iter ${iter}`);
    } else {
      const at = 2 * rng.below(len / 2 - 1);
      const oldU32 = ((readU16(data, at) << 16) | readU16(data, at + 2)) >>> 0;
      const newU32 = rng.u32();
      writeU16(data, at, newU32 >>> 16);
      writeU16(data, at + 2, newU32 & 0xffff);
      assert.equal(checksumUpdate32(csum, oldU32, newU32), internetChecksum(data, 0, len), `iter ${iter}`);
    }
  }
});

test('isParseFailure', () => {
  assert.ok(isParseFailure({ error: 1, layer: 'ipv4', detail: 'x' }));
  assert.ok(!isParseFailure({ src: 1 }));
  assert.ok(!isParseFailure(null));
  assert.ok(!isParseFailure(3));
});
