import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventRing, PerfEventArray } from '../../src/bpf/ringbuf.js';
import { Errno } from '../../src/bpf/types.js';
import { Rng } from '../../src/util/rng.js';

function record(seq: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (seq + i) & 0xff;
  return b;
}

test('records come out in FIFO order, contiguous, across many wrap-arounds', () => {
  const ring = new EventRing(256);
  const rng = new Rng(7);
  let nextIn = 0;
  let nextOut = 0;
  const pending: number[] = [];
  for (let round = 0; round < 2000; round++) {
    const len = 1 + rng.below(60);
    if (ring.output(record(nextIn, len), 0, len) === 0) {
      pending.push(len);
      nextIn++;
    }
    if (rng.below(3) === 0) {
      ring.consume((data, off, got) => {
        assert.ok(off + got <= ring.capacity, 'a record never crosses the end');
        assert.equal(got, pending.shift());
        for (let i = 0; i < got; i++) assert.equal(data[off + i], (nextOut + i) & 0xff);
        nextOut++;
      }, 1 + rng.below(4));
    }
  }
  ring.consume(() => nextOut++);
  assert.equal(nextOut, nextIn);
  assert.equal(ring.produced, nextIn);
  assert.equal(ring.consumed, nextIn);
  assert.equal(ring.bytesUsed, 0);
  assert.ok(nextIn > 1000);
});

test('a full ring drops the new record, counts it in lost, and keeps the old ones', () => {
  const ring = new EventRing(128);
  let accepted = 0;
  while (ring.output(record(accepted, 24), 0, 24) === 0) accepted++;
  assert.equal(accepted, 4, '4 x (8 header + 24) = 128');
  assert.equal(ring.lost, 1);
  assert.equal(ring.reserve(8), -1);
  assert.equal(ring.lost, 2);
  assert.equal(ring.output(record(0, 8), 0, 8), -Errno.ENOSPC);
  assert.equal(ring.lost, 3);
  const firsts: number[] = [];
  assert.equal(ring.consume((d, off) => firsts.push(d[off])), 4);
  assert.deepEqual(firsts, [0, 1, 2, 3]);
  assert.equal(ring.reserve(200), -1, 'larger than the ring');
});

test('wrap pads the tail instead of splitting a record', () => {
  const ring = new EventRing(64);
  assert.equal(ring.output(record(1, 24), 0, 24), 0); // 0..32
  assert.equal(ring.output(record(2, 8), 0, 8), 0); // 32..48
  assert.equal(ring.consume(() => undefined, 1), 1); // frees 0..32
  const at = ring.reserve(20); // 28 bytes do not fit in 48..64: pad, then start at 0
  assert.equal(at, 8);
  ring.data.set(record(3, 20), at);
  ring.commit();
  const got: number[] = [];
  ring.consume((d, off, len) => got.push(d[off], len, off));
  assert.deepEqual(got, [2, 8, 40, 3, 20, 8]);
});

test('uncommitted reservations block the reader; discarded ones are skipped', () => {
  const ring = new EventRing(256);
  const a = ring.reserve(16);
  ring.data[a] = 0xa;
  const b = ring.reserve(16);
  ring.data[b] = 0xb;
  ring.commit(b);
  const got: number[] = [];
  assert.equal(ring.consume((d, off) => got.push(d[off])), 0, 'a is still being written');
  ring.discard(a);
  assert.equal(ring.consume((d, off) => got.push(d[off])), 1);
  assert.deepEqual(got, [0xb]);
  assert.equal(ring.produced, 1);
  ring.output(record(0, 4), 0, 4);
  ring.clear();
  assert.equal(ring.consume(() => got.push(0)), 0);
  assert.equal(ring.bytesUsed, 0);
  assert.throws(() => new EventRing(100));
});

test('perf event array: one ring per CPU, drained in CPU order', () => {
  const perf = new PerfEventArray({ nCpus: 2, ringBytes: 64 });
  assert.equal(perf.spec.name, 'cilium_events');
  assert.equal(perf.spec.maxEntries, 2);
  assert.equal(perf.output(1, record(10, 4), 0, 4), 0);
  assert.equal(perf.output(0, record(20, 4), 0, 4), 0);
  assert.equal(perf.output(2, record(30, 4), 0, 4), -Errno.E2BIG);
  // 64-byte rings hold four 16-byte records: the fourth 40 is lost.
  for (let i = 0; i < 4; i++) perf.output(0, record(40, 4), 0, 4);
  assert.equal(perf.lost, 1);
  const got: number[] = [];
  assert.equal(perf.consume((d, off) => got.push(d[off]), 2), 2);
  assert.deepEqual(got, [20, 40]);
  perf.consume((d, off) => got.push(d[off]));
  assert.deepEqual(got, [20, 40, 40, 40, 10]);
  assert.equal(perf.produced, 5);
  assert.equal(perf.recreate().produced, 0);
});

/** The reservation rule written out once, without reserve()'s in-place fast path, to compare offsets with. */
class ReferenceRing {
  writeOff = 0;
  readOff = 0;
  bytesUsed = 0;
  lost = 0;
  readonly pending: { off: number; total: number; pad: boolean }[] = [];
  constructor(readonly capacity: number) {}
  reserve(len: number): number {
    if (this.bytesUsed === 0) {
      this.writeOff = 0;
      this.readOff = 0;
    }
    const total = 8 + ((len + 7) & ~7);
    let off = this.writeOff;
    const pad = total > this.capacity - off ? this.capacity - off : 0;
    if (len < 0 || total + pad > this.capacity - this.bytesUsed) {
      this.lost++;
      return -1;
    }
    if (pad !== 0) {
      this.pending.push({ off, total: pad, pad: true });
      this.bytesUsed += pad;
      off = 0;
    }
    this.pending.push({ off, total, pad: false });
    this.writeOff = (off + total) & (this.capacity - 1);
    this.bytesUsed += total;
    return off + 8;
  }
  consumeAll(): void {
    this.pending.length = 0;
    this.readOff = this.writeOff;
    this.bytesUsed = 0;
  }
  /** consume(cb, 1): padding records go with the record after them. */
  consumeOne(): void {
    for (;;) {
      const r = this.pending.shift()!;
      this.bytesUsed -= r.total;
      this.readOff = (r.off + r.total) & (this.capacity - 1);
      if (!r.pad) return;
    }
  }
}

test('reserve() hands out the offsets of the general rule: fits, wraps with padding, refuses, restarts at 0 when empty', () => {
  const rng = new Rng(21);
  for (const capacity of [64, 256, 4096]) {
    const ring = new EventRing(capacity);
    const ref = new ReferenceRing(capacity);
    for (let step = 0; step < 20_000; step++) {
      const op = rng.below(10);
      if (op < 6) {
        const len = rng.below(10) === 0 ? rng.below(capacity) : rng.below(capacity / 4);
        const at = ring.reserve(len);
        assert.equal(at, ref.reserve(len), `capacity ${capacity} step ${step} len ${len}`);
        if (at >= 0) ring.commit(at);
      } else if (op < 9 && ref.pending.length) {
        ring.consume(() => {}, 1);
        ref.consumeOne();
      } else {
        ring.consume(() => {});
        ref.consumeAll();
      }
      assert.equal(ring.lost, ref.lost);
      assert.equal(ring.bytesUsed, ref.bytesUsed);
    }
  }
});
