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
