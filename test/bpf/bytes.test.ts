import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as b from '../../src/bpf/bytes.js';

test('big- and little-endian fields, u64 counters, hex', () => {
  const buf = new Uint8Array(16);
  b.writeU16BE(buf, 0, 0x1f90);
  assert.deepEqual([...buf.subarray(0, 2)], [0x1f, 0x90]);
  assert.equal(b.readU16BE(buf, 0), 8080);
  assert.equal(b.readU16LE(buf, 0), 0x901f);
  b.writeU16LE(buf, 2, 0xbeef);
  assert.equal(b.readU16LE(buf, 2), 0xbeef);
  b.writeU32BE(buf, 4, 0xc0a8010b);
  assert.deepEqual([...buf.subarray(4, 8)], [192, 168, 1, 11]);
  assert.equal(b.readU32BE(buf, 4), 0xc0a8010b);
  b.writeU32LE(buf, 8, 0xfffffffe);
  assert.equal(b.readU32LE(buf, 8), 0xfffffffe);
  assert.equal(buf[8], 0xfe);
  b.writeU64LE(buf, 8, 2 ** 40 + 5);
  assert.equal(b.readU64LE(buf, 8), 2 ** 40 + 5);
  assert.equal(new DataView(buf.buffer).getBigUint64(8, true), 2n ** 40n + 5n);
  b.addU64LE(buf, 8, 2 ** 32);
  assert.equal(b.readU64LE(buf, 8), 2 ** 40 + 2 ** 32 + 5);
  b.writeU64BE(buf, 0, 2 ** 33 + 1);
  assert.equal(new DataView(buf.buffer).getBigUint64(0), 2n ** 33n + 1n);
  assert.equal(b.readU64BE(buf, 0), 2 ** 33 + 1);
  assert.equal(b.hexKey(new Uint8Array([10, 0, 0, 1, 255]), 1, 4), '000001ff');
  assert.deepEqual([...b.bytesFromHex('0a 00 00 01')], [10, 0, 0, 1]);
  assert.throws(() => b.bytesFromHex('abc'));
  assert.ok(b.bytesEqual(new Uint8Array([1, 2, 3]), 1, new Uint8Array([2, 3]), 0, 2));
  assert.ok(!b.bytesEqual(new Uint8Array([1, 2, 3]), 0, new Uint8Array([2, 3]), 0, 2));
});

test('bswap32 reverses the four bytes and is its own inverse', () => {
  assert.equal(b.bswap32(0x0a000132) >>> 0, 0x3201000a);
  assert.equal(b.bswap32(0x80ff0001) >>> 0, 0x0100ff80);
  for (const x of [0, 1, 0x7fffffff, 0x80000000, 0xdeadbeef]) assert.equal(b.bswap32(b.bswap32(x)) >>> 0, x >>> 0);
});
