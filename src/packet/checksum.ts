// RFC 1071 internet checksum and RFC 1624 incremental updates.

/**
 * Ones' complement sum of 16-bit big-endian words, unfolded. An odd trailing
 * byte is padded with zero. The accumulator stays far below 2^53 for any
 * realistic packet, and is folded periodically to stay a small integer.
 */
export function onesComplementSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) {
    sum += (buf[i] << 8) | buf[i + 1];
  }
  if (i < end) sum += buf[i] << 8;
  // Fold to keep the number a small integer (SMI) for callers that chain sums.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Fold carries and complement: the 16-bit value to put on the wire. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return finishChecksum(onesComplementSum(buf, off, len, initial));
}

/** Sum of the IPv4 pseudo header used by TCP and UDP checksums. */
export function pseudoHeaderSumV4(src: number, dst: number, proto: number, l4len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4len;
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Works on the stored checksum when
 * one 16-bit word of the covered data changes from oldWord to newWord.
 */
export function checksumUpdate16(csum: number, oldWord: number, newWord: number): number {
  let sum = (~csum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Incremental update for a changed 32-bit field (an IPv4 address in NAT). */
export function checksumUpdate32(csum: number, oldU32: number, newU32: number): number {
  const o = oldU32 >>> 0;
  const n = newU32 >>> 0;
  let sum = (~csum & 0xffff) + (~(o >>> 16) & 0xffff) + (~o & 0xffff) + (n >>> 16) + (n & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

export function writeU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}
