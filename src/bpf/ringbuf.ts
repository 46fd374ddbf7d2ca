// Event rings: Cilium's `cilium_events` (a per-CPU perf ring) and BPF ringbuf.
//
// One contiguous byte area of power-of-two size. Every record is an 8-byte
// header (u32 length, u32 flags) followed by the payload rounded up to 8
// bytes. A record never wraps: if it does not fit before the end, a padding
// record fills the tail and the record starts at offset 0, so consumers always
// see one contiguous slice. A full ring drops the new record and counts it in
// `lost`, as perf rings do (the reader later sees "lost N events").
import { BpfMapType, Errno } from './types.js';
import type { MapSpec } from './types.js';

const HEADER = 8;
const FLAG_BUSY = 1;
const FLAG_DISCARD = 2;
const FLAG_PAD = 4;

/** Cilium's default perf ring: 64 pages of 4096 bytes per CPU. */
export const CILIUM_EVENTS_RING_BYTES = 64 * 4096;

export class EventRing {
  readonly spec: MapSpec;
  readonly capacity: number;
  /** Record bytes; a reservation's payload is at the offset reserve() returned. */
  readonly data: Uint8Array;
  /** Records dropped because the ring was full (or the record larger than the ring). */
  lost = 0;
  /** Records committed. */
  produced = 0;
  /** Records handed to consumers. */
  consumed = 0;
  /** Bytes occupied, including headers and padding. */
  bytesUsed = 0;
  private readonly headers: Int32Array;
  /** `data` as Int32 words (the same array the record headers are written through), for word copies into payloads. */
  readonly words: Int32Array;
  /** `data` as float64 elements: a payload starts 8-aligned, so its first 8 bytes are one element. */
  readonly f64: Float64Array;
  /** DataView over `data`. */
  readonly view: DataView;
  private readonly mask: number;
  private writeOff = 0;
  private readOff = 0;
  /** Header offset of the latest reservation, for commit() without an argument. */
  private lastReserved = -1;

  constructor(capacity: number = CILIUM_EVENTS_RING_BYTES, name = 'cilium_events') {
    if (!Number.isInteger(capacity) || capacity < 16 || (capacity & (capacity - 1)) !== 0) {
      throw new Error(`ring ${name}: capacity ${capacity} must be a power of two >= 16`);
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.data = new Uint8Array(capacity);
    this.headers = new Int32Array(this.data.buffer);
    this.words = this.headers;
    this.f64 = new Float64Array(this.data.buffer);
    this.view = new DataView(this.data.buffer);
    // BPF ringbuf's max_entries is its size in bytes.
    this.spec = { name, type: BpfMapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: capacity };
  }

  /**
   * Offset in `data` for `len` payload bytes, or -1 (and lost++) when it does
   * not fit. The common case (the record fits before the end of the area and
   * in the free space) is kept small enough for TurboFan to inline into the
   * event writers; wrapping and refusal are reserveWrapped's.
   */
  reserve(len: number): number {
    const total = HEADER + ((len + 7) & ~7);
    const used = this.bytesUsed;
    // Nothing outstanding: restart at 0 so a large record needs no padding.
    const off = used === 0 ? 0 : this.writeOff;
    if (len < 0 || off + total > this.capacity || used + total > this.capacity) return this.reserveWrapped(len);
    if (used === 0) this.readOff = 0;
    const h = this.headers;
    h[off >> 2] = len;
    h[(off >> 2) + 1] = FLAG_BUSY;
    this.writeOff = (off + total) & this.mask;
    this.bytesUsed = used + total;
    this.lastReserved = off;
    return off + HEADER;
  }

  /** reserve() when the record needs a padding record first, or does not fit. */
  private reserveWrapped(len: number): number {
    if (this.bytesUsed === 0) {
      // Nothing outstanding: restart at 0 so a large record needs no padding.
      this.writeOff = 0;
      this.readOff = 0;
    }
    const total = HEADER + ((len + 7) & ~7);
    let off = this.writeOff;
    const tail = this.capacity - off;
    const pad = total > tail ? tail : 0;
    if (len < 0 || total + pad > this.capacity - this.bytesUsed) {
      this.lost++;
      return -1;
    }
    if (pad !== 0) {
      this.headers[off >> 2] = pad - HEADER;
      this.headers[(off >> 2) + 1] = FLAG_PAD;
      this.bytesUsed += pad;
      off = 0;
    }
    this.headers[off >> 2] = len;
    this.headers[(off >> 2) + 1] = FLAG_BUSY;
    this.writeOff = (off + total) & this.mask;
    this.bytesUsed += total;
    this.lastReserved = off;
    return off + HEADER;
  }

  /** Publish a reservation (the latest one by default); consumers stop at unpublished records. */
  commit(dataOff = this.lastReserved + HEADER): void {
    this.headers[((dataOff - HEADER) >> 2) + 1] = 0;
    this.produced++;
  }

  /** Give a reservation back; its space is skipped by consumers (bpf_ringbuf_discard). */
  discard(dataOff = this.lastReserved + HEADER): void {
    this.headers[((dataOff - HEADER) >> 2) + 1] = FLAG_DISCARD;
  }

  /** Copy one record in: 0, or -ENOSPC when the ring is full (counted in `lost`). */
  output(buf: Uint8Array, off: number, len: number): number {
    const at = this.reserve(len);
    if (at < 0) return -Errno.ENOSPC;
    const data = this.data;
    for (let i = 0; i < len; i++) data[at + i] = buf[off + i];
    this.commit(at);
    return 0;
  }

  /**
   * Hand committed records to `cb` oldest first, at most `max`; returns how many.
   * The slice is only valid during the callback (its space is freed afterwards).
   */
  consume(cb: (data: Uint8Array, off: number, len: number) => void, max = Infinity): number {
    const headers = this.headers;
    let delivered = 0;
    while (this.bytesUsed > 0 && delivered < max) {
      const off = this.readOff;
      const len = headers[off >> 2];
      const flags = headers[(off >> 2) + 1];
      if ((flags & FLAG_BUSY) !== 0) break;
      const total = (flags & FLAG_PAD) !== 0 ? HEADER + len : HEADER + ((len + 7) & ~7);
      if ((flags & (FLAG_PAD | FLAG_DISCARD)) === 0) {
        cb(this.data, off + HEADER, len);
        delivered++;
        this.consumed++;
      }
      this.readOff = (off + total) & this.mask;
      this.bytesUsed -= total;
    }
    return delivered;
  }

  /** Committed bytes waiting, as a quick "anything to read?" check. */
  get empty(): boolean {
    return this.bytesUsed === 0;
  }

  clear(): void {
    this.writeOff = 0;
    this.readOff = 0;
    this.bytesUsed = 0;
    this.lastReserved = -1;
  }

  /** An empty ring of the same size and name (counters reset). */
  recreate(): EventRing {
    return new EventRing(this.capacity, this.spec.name);
  }
}

export interface PerfEventArrayOptions {
  name?: string;
  nCpus?: number;
  /** Bytes per CPU ring (power of two); Cilium uses 64 x 4096. */
  ringBytes?: number;
}

/** BPF_MAP_TYPE_PERF_EVENT_ARRAY: one EventRing per CPU, indexed by CPU number. */
export class PerfEventArray {
  readonly spec: MapSpec;
  readonly rings: readonly EventRing[];

  constructor(options: PerfEventArrayOptions = {}) {
    const name = options.name ?? 'cilium_events';
    const nCpus = options.nCpus ?? 1;
    if (!Number.isInteger(nCpus) || nCpus < 1) throw new Error(`perf event array ${name}: bad nCpus ${nCpus}`);
    const ringBytes = options.ringBytes ?? CILIUM_EVENTS_RING_BYTES;
    this.rings = Array.from({ length: nCpus }, () => new EventRing(ringBytes, name));
    this.spec = { name, type: BpfMapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: nCpus };
  }

  get nCpus(): number {
    return this.rings.length;
  }

  ring(cpu: number): EventRing | undefined {
    return this.rings[cpu];
  }

  /** bpf_perf_event_output() on `cpu`: 0, -E2BIG for a CPU past the array, -ENOSPC when that ring is full. */
  output(cpu: number, buf: Uint8Array, off: number, len: number): number {
    const ring = this.rings[cpu];
    return ring === undefined ? -Errno.E2BIG : ring.output(buf, off, len);
  }

  /** Drain rings in CPU order (FIFO within a CPU); returns records delivered. */
  consume(cb: (data: Uint8Array, off: number, len: number) => void, max = Infinity): number {
    let total = 0;
    for (const ring of this.rings) {
      if (total >= max) break;
      total += ring.consume(cb, max - total);
    }
    return total;
  }

  get lost(): number {
    return this.rings.reduce((sum, r) => sum + r.lost, 0);
  }

  get produced(): number {
    return this.rings.reduce((sum, r) => sum + r.produced, 0);
  }

  clear(): void {
    for (const ring of this.rings) ring.clear();
  }

  recreate(): PerfEventArray {
    return new PerfEventArray({ name: this.spec.name, nCpus: this.nCpus, ringBytes: this.rings[0].capacity });
  }
}
