// Key builders shared by the bpf tests.
import { writeU32LE } from '../../src/bpf/bytes.js';

export function u32Key(n: number): Uint8Array {
  const k = new Uint8Array(4);
  writeU32LE(k, 0, n);
  return k;
}

/** A `cilium_ct4_global`-shaped 14-byte tuple (daddr, saddr, dport, sport, nexthdr, flags). */
export function ctTuple(daddr: number, saddr: number, dport: number, sport: number, nexthdr = 6, flags = 0): Uint8Array {
  const k = new Uint8Array(14);
  const v = new DataView(k.buffer);
  v.setUint32(0, daddr);
  v.setUint32(4, saddr);
  v.setUint16(8, dport);
  v.setUint16(10, sport);
  k[12] = nexthdr;
  k[13] = flags;
  return k;
}

/**
 * `n` random CT tuples and, for every other one, its reverse (addresses and
 * ports swapped, TUPLE_F_IN flipped): pairs CtHashMap's tuple hash puts on one probe run.
 */
export function ctTupleSpace(rng: { u32(): number; below(n: number): number }, n: number, nexthdr: (i: number) => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; out.length < n; i++) {
    const d = rng.u32();
    const s = rng.u32();
    const dport = rng.below(65536);
    const sport = rng.below(65536);
    const flags = rng.below(8);
    out.push(ctTuple(d, s, dport, sport, nexthdr(i), flags));
    if (i % 2 === 0 && out.length < n) out.push(ctTuple(s, d, sport, dport, nexthdr(i), flags ^ 1));
  }
  return out;
}

/** The reverse of a CT tuple: addresses and ports swapped, TUPLE_F_IN flipped. */
export function reverseTuple(k: Uint8Array): Uint8Array {
  const r = new Uint8Array(14);
  r.set(k.subarray(4, 8), 0);
  r.set(k.subarray(0, 4), 4);
  r.set(k.subarray(10, 12), 8);
  r.set(k.subarray(8, 10), 10);
  r[12] = k[12];
  r[13] = k[13] ^ 1;
  return r;
}

export function valueOf(size: number, fill: number): Uint8Array {
  return new Uint8Array(size).fill(fill);
}

export function ipv4(s: string): number[] {
  return s.split('.').map(Number);
}
