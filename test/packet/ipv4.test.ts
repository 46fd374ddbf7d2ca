import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IPV4,
  IpProto,
  Ipv4Packet,
  ParseErrorCode,
  checkIpv4,
  emitIpv4,
  internetChecksum,
  isParseFailure,
  parseIpv4,
  type Ipv4Repr,
} from '../../src/packet/index.js';

const base: Ipv4Repr = {
  src: 0x0a000132,
  dst: 0x0a000264,
  protocol: IpProto.TCP,
  ttl: 64,
  payloadLen: 12,
  ident: 0x1c46,
  dontFragment: true,
  moreFragments: false,
  fragOffset: 0,
  dscp: 0,
  ecn: 0,
  isFragment: false,
};

function emitted(repr: Ipv4Repr): Uint8Array {
  const buf = new Uint8Array(60 + repr.payloadLen);
  const hl = emitIpv4(repr, buf, 0);
  return buf.subarray(0, hl + repr.payloadLen);
}

test('emit writes the expected bytes', () => {
  const b = emitted(base);
  // Checksum by hand: 4500+0020+1c46+4000+4006+0000+0a00+0132+0a00+0264 = 0xf902, ~ = 0x06fd.
  const hex = [...b.subarray(0, 20)].map((x) => x.toString(16).padStart(2, '0')).join('');
  assert.equal(hex, '450000201c464000400606fd0a0001320a000264');
  assert.equal(internetChecksum(b, 0, 20), 0);
  assert.equal(checkIpv4(b, 0, b.length), 0);
});

test('parse(emit(x)) round trips, with options and fragments', () => {
  const cases: Ipv4Repr[] = [
    base,
    { ...base, dscp: 46, ecn: 2, ttl: 1, protocol: IpProto.UDP, dontFragment: false },
    // Router alert option (4 bytes) and record-route-ish padding.
    { ...base, options: Uint8Array.from([0x94, 0x04, 0x00, 0x00]) },
    { ...base, dontFragment: false, moreFragments: true, fragOffset: 0, isFragment: true },
    { ...base, dontFragment: false, moreFragments: false, fragOffset: 1480, isFragment: true },
  ];
  for (const repr of cases) {
    const b = emitted(repr);
    const parsed = parseIpv4(b, 0, b.length);
    assert.ok(!isParseFailure(parsed), JSON.stringify(parsed));
    assert.deepEqual(parsed, repr);
  }
});

test('view accessors and setters', () => {
  const b = emitted({ ...base, moreFragments: true, fragOffset: 2960, dontFragment: false, isFragment: true });
  const p = new Ipv4Packet(b, 0, b.length);
  assert.equal(p.version, 4);
  assert.equal(p.headerLen, 20);
  assert.equal(p.totalLen, 32);
  assert.equal(p.fragOffset, 2960);
  assert.ok(p.moreFragments && p.isFragment && !p.dontFragment);
  assert.equal(p.payloadOffset, 20);
  assert.equal(p.payloadLen, 12);
  p.ttl = 9;
  assert.ok(!p.verifyChecksum());
  p.fillChecksum();
  assert.ok(p.verifyChecksum());
  p.dscp = 10;
  p.ecn = 3;
  p.fillChecksum();
  assert.equal(p.dscp, 10);
  assert.equal(p.ecn, 3);
});

test('TTL decrement and NAT rewrites keep the header checksum valid', () => {
  const b = emitted(base);
  const p = new Ipv4Packet(b);
  assert.equal(p.decrementTtl(), 63);
  assert.ok(p.verifyChecksum());
  p.rewriteDst(0xc0a8010c);
  p.rewriteSrc(0xffffffff);
  assert.ok(p.verifyChecksum());
  assert.equal(p.dst, 0xc0a8010c);
  assert.equal(p.src, 0xffffffff);
  const full = p.checksum;
  p.fillChecksum();
  assert.equal(p.checksum, full);
});

test('rejections are error values with layer ipv4', () => {
  const good = emitted(base);
  const expect = (b: Uint8Array, code: number, len = b.length): void => {
    const r = parseIpv4(b, 0, len);
    assert.ok(isParseFailure(r), 'expected failure');
    assert.equal(r.error, code, r.detail);
    assert.equal(r.layer, 'ipv4');
    assert.equal(checkIpv4(b, 0, len), code);
  };
  const v6 = good.slice();
  v6[0] = 0x65;
  expect(v6, ParseErrorCode.Malformed);
  const ihl4 = good.slice();
  ihl4[0] = 0x44;
  expect(ihl4, ParseErrorCode.Malformed);
  const longTotal = good.slice();
  longTotal[IPV4.TOTAL_LEN + 1] += 1;
  new Ipv4Packet(longTotal).fillChecksum();
  expect(longTotal, ParseErrorCode.Truncated);
  const shortTotal = good.slice();
  shortTotal[IPV4.TOTAL_LEN] = 0;
  shortTotal[IPV4.TOTAL_LEN + 1] = 19;
  new Ipv4Packet(shortTotal).fillChecksum();
  expect(shortTotal, ParseErrorCode.Malformed);
  const badSum = good.slice();
  badSum[IPV4.CHECKSUM] ^= 0x01;
  expect(badSum, ParseErrorCode.BadChecksum);
  assert.ok(!isParseFailure(parseIpv4(badSum, 0, badSum.length, { verifyChecksum: false })));
  // An option whose length runs past the header.
  const opts = emitted({ ...base, options: Uint8Array.from([0x07, 0x09, 0x04, 0x00]) });
  expect(opts, ParseErrorCode.Malformed);
  const zeroLenOpt = emitted({ ...base, options: Uint8Array.from([0x88, 0x00, 0x00, 0x00]) });
  expect(zeroLenOpt, ParseErrorCode.Malformed);
  for (let len = 0; len < good.length; len++) {
    const r = parseIpv4(good, 0, len);
    assert.ok(isParseFailure(r) && r.error === ParseErrorCode.Truncated && r.layer === 'ipv4', `len ${len}`);
  }
});

test('trailing Ethernet padding beyond total length is allowed', () => {
  const b = new Uint8Array(46);
  emitIpv4({ ...base, payloadLen: 0 }, b, 0);
  const r = parseIpv4(b, 0, b.length);
  assert.ok(!isParseFailure(r));
  assert.equal(r.payloadLen, 0);
});
