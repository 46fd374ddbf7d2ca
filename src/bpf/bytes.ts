// Packed-struct helpers on Uint8Array + offset. Network fields are big-endian,
// map keys built by the kernel on x86/arm64 hosts (prefixlen, indexes, counters)
// are little-endian. These are plain functions so V8 inlines them.

/**
 * Whether this host stores typed-array elements little-endian (x86, arm64):
 * code that treats bytes as Int32/Float64 elements (map keys as words, event
 * structs written as words) checks it.
 */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 32-bit value with its four bytes reversed (network ↔ host order of a little-endian word). */
export function bswap32(x: number): number {
  // Bytes 1 and 3 rotated left by 8, bytes 0 and 2 right by 8: TurboFan
  // turns each (v << n) | (v >>> 32 - n) into one rotate instruction.
  const odd = x & 0xff00ff00;
  const even = x & 0x00ff00ff;
  return ((odd << 8) | (odd >>> 24)) | ((even >>> 8) | (even << 24));
}

export function readU8(b: Uint8Array, off: number): number {
  return b[off];
}

export function writeU8(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
}

export function readU16BE(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}

export function writeU16BE(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

export function readU16LE(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}

export function writeU16LE(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
}

export function readU32BE(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

export function writeU32BE(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

export function readU32LE(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

export function writeU32LE(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
}

const TWO_32 = 0x1_0000_0000;

/** u64 little-endian as a JS number (exact below 2^53, which packet/byte counters stay under). */
export function readU64LE(b: Uint8Array, off: number): number {
  return readU32LE(b, off + 4) * TWO_32 + readU32LE(b, off);
}

export function writeU64LE(b: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  writeU32LE(b, off, v - hi * TWO_32);
  writeU32LE(b, off + 4, hi);
}

/** `*(u64 *)p += delta`, the datapath's counter bump (metrics, policy stats). */
export function addU64LE(b: Uint8Array, off: number, delta: number): void {
  writeU64LE(b, off, readU64LE(b, off) + delta);
}

export function readU64BE(b: Uint8Array, off: number): number {
  return readU32BE(b, off) * TWO_32 + readU32BE(b, off + 4);
}

export function writeU64BE(b: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  writeU32BE(b, off, hi);
  writeU32BE(b, off + 4, v - hi * TWO_32);
}

export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `len` bytes, e.g. `0a000001` (for dumps and Map<string> models in tests). */
export function hexKey(keys: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += HEX[keys[off + i]];
  return s;
}

/** Inverse of hexKey (spaces allowed): `bytesFromHex('0a 00 00 01')`. */
export function bytesFromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${hex}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
