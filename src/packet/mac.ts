// MAC addresses as plain numbers: 48 bits fit exactly in a double, so they
// can be map keys and compared with ===.

const TWO_POW_32 = 0x1_0000_0000;

export const MAC_BROADCAST = 0xffff_ffff_ffff;

export function macToString(mac: number): string {
  let out = '';
  for (let i = 5; i >= 0; i--) {
    const byte = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    out += byte.toString(16).padStart(2, '0');
    if (i > 0) out += ':';
  }
  return out;
}

const MAC_RE = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;

export function parseMac(s: string): number | null {
  if (!MAC_RE.test(s)) return null;
  let mac = 0;
  for (const part of s.split(/[:-]/)) mac = mac * 256 + parseInt(part, 16);
  return mac;
}

export function readMac(buf: Uint8Array, off: number): number {
  const hi = (buf[off] << 8) | buf[off + 1];
  const lo = ((buf[off + 2] << 24) | (buf[off + 3] << 16) | (buf[off + 4] << 8) | buf[off + 5]) >>> 0;
  return hi * TWO_POW_32 + lo;
}

/** The MAC's first two bytes as a number (its low four bytes are `mac | 0`, or `mac >>> 0`). */
export function macHigh16(mac: number): number {
  return Math.floor(mac / TWO_POW_32);
}

export function writeMac(buf: Uint8Array, off: number, mac: number): void {
  const hi = macHigh16(mac);
  const lo = mac >>> 0;
  buf[off] = (hi >>> 8) & 0xff;
  buf[off + 1] = hi & 0xff;
  buf[off + 2] = lo >>> 24;
  buf[off + 3] = (lo >>> 16) & 0xff;
  buf[off + 4] = (lo >>> 8) & 0xff;
  buf[off + 5] = lo & 0xff;
}

export function isMulticastMac(mac: number): boolean {
  // I/G bit: lowest bit of the first octet.
  return (Math.floor(mac / 2 ** 40) & 1) === 1;
}
