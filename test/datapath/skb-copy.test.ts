// copyPacket (the packet capture behind every event) against a byte copy:
// every alignment of source and destination, lengths across the float64,
// word and byte tails, NaN bit patterns in the data, and no byte outside
// the destination range touched.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyPacket, SkBuff } from '../../src/datapath/skb.js';
import { EventRing } from '../../src/bpf/ringbuf.js';
import { Rng } from '../../src/util/rng.js';

/** Float64 NaN patterns (little-endian bytes): signalling, quiet with payloads, negative, all ones. */
const NAN_WORDS: [number, number][] = [
  [0x00000001, 0x7ff00000],
  [0x00000000, 0x7ff40000],
  [0x00000000, 0x7ff80000],
  [0x12345678, 0xfff80000],
  [0xffffffff, 0x7fffffff],
  [0xffffffff, 0xffffffff],
  [0x80000000, 0x7ff00000],
  [0xffffffff, 0x7ff7ffff],
];

function fill(skb: SkBuff, rng: Rng): void {
  const v = skb.view;
  for (let i = 0; i < skb.buf.length; i++) skb.buf[i] = rng.below(256);
  // NaN patterns at every 8-aligned and 4-aligned spot of the first 128 bytes.
  for (let i = 0; i + 8 <= 128; i += 4) {
    const [lo, hi] = NAN_WORDS[(i >> 2) % NAN_WORDS.length]!;
    v.setUint32(i, lo, true);
    v.setUint32(i + 4, hi, true);
  }
}

test('copyPacket copies exactly len bytes for every alignment and length, NaN patterns included', () => {
  const rng = new Rng(3);
  const skb = new SkBuff(512);
  const ring = new EventRing(1024);
  fill(skb, rng);
  const expect = new Uint8Array(ring.data.length);
  // Enough runs for the optimizing compiler to take over copyPacket too.
  for (let round = 0; round < 40; round++) {
    for (let srcOff = 0; srcOff < 8; srcOff++) {
      for (let dstOff = 0; dstOff < 8; dstOff++) {
        for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 63, 64, 66, 100, 128]) {
          const base = 16 * (1 + ((srcOff + dstOff + len) % 8));
          for (let i = 0; i < ring.data.length; i++) ring.data[i] = (i * 7 + round) & 0xff;
          expect.set(ring.data);
          expect.set(skb.buf.subarray(srcOff, srcOff + len), base + dstOff);
          copyPacket(ring, base + dstOff, skb, srcOff, len);
          assert.deepEqual(ring.data, expect, `src+${srcOff} dst+${dstOff} len ${len}`);
        }
      }
    }
  }
});

test('load() takes a frame at an offset of a buffer area as the bytes it holds, whatever the area and frame alignment', () => {
  const rng = new Rng(5);
  const backing = new Uint8Array(4096);
  for (let i = 0; i < backing.length; i++) backing[i] = rng.below(256);
  // Areas starting 8-aligned (float64 copies) and not (the DataView copy), NaN patterns inside.
  for (const areaStart of [0, 8, 3, 4, 5]) {
    // 2045 bytes: a frame of 5, 13 or 77 bytes at its end starts 8-aligned and its last float64 is partly past the area.
    const area = backing.subarray(areaStart, areaStart + 2045);
    const skb = new SkBuff(256);
    for (let round = 0; round < 20; round++) {
      for (const at of [0, 1, 4, 8, 13, 64, 200, -1]) {
        for (const len of [1, 3, 4, 5, 7, 8, 13, 14, 60, 66, 74, 77, 150]) {
          // -1: the frame ends where the area does.
          const off = at < 0 ? area.length - len : at;
          const v = new DataView(area.buffer, area.byteOffset + off);
          for (const [i, [lo, hi]] of NAN_WORDS.entries()) {
            v.setUint32(i * 8, lo, true);
            v.setUint32(i * 8 + 4, hi, true);
          }
          skb.load(area, off, len, 64);
          assert.equal(skb.len, len);
          assert.deepEqual(skb.buf.subarray(skb.off, skb.off + len), area.subarray(off, off + len), `area+${areaStart} off ${off} len ${len}`);
        }
      }
    }
    // Another area afterwards: the views of the first are not reused.
    const other = new Uint8Array(128).fill(0xab);
    skb.load(other, 8, 40, 64);
    assert.deepEqual(skb.buf.subarray(64, 104), other.subarray(8, 48));
  }
});
