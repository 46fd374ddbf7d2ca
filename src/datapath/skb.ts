// The packet context a program runs on: Cilium's `struct __ctx_buff` (an skb at
// tc). Bytes live in `buf` with headroom in front so encapsulation can push
// headers in place; metadata fields are what BPF helpers read and write.

/** tc program return codes (CTX_ACT_*). */
export const enum TcAct { OK = 0, SHOT = 2, REDIRECT = 7 }

/** bpf_redirect flags; PEER stands for bpf_redirect_peer() into the pod's netns. */
export const enum RedirectFlags { NONE = 0, INGRESS = 1, PEER = 2 }

/** ctx->cb[] slots Cilium uses to pass state across tail calls. */
export const enum CB { SRC_LABEL = 0, IFINDEX = 1, POLICY = 2, FROM_TUNNEL = 3, PROXY_MAGIC = 4 }

export const DEFAULT_HEADROOM = 64;

// Module-local binding of this module's exported helpers called per packet: a
// call to an exported function goes through its export cell (loaded and checked
// on every call, as an import's), a module's own const is folded.
const localCopyFloat64s = copyFloat64s;

/** Copy bytes between buffers (for the occasional copy; packet-path copies use copyPacket or copyView). */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  dst.set(src.subarray(srcOff, srcOff + len), dstOff);
}

/**
 * Copy `len` bytes between two DataViews four at a time (unaligned is fine).
 * For packet-sized copies this is 2-3x cheaper than set(subarray()), which
 * allocates a view and calls a builtin. The ranges must not overlap.
 */
export function copyView(dst: DataView, dstOff: number, src: DataView, srcOff: number, len: number): void {
  const words = len & ~3;
  let i = 0;
  for (; i < words; i += 4) dst.setInt32(dstOff + i, src.getInt32(srcOff + i, true), true);
  for (; i < len; i++) dst.setUint8(dstOff + i, src.getUint8(srcOff + i));
}

/** One buffer seen as float64 elements, Int32 words and a DataView (SkBuff, EventRing). */
export interface PacketViews {
  readonly f64: Float64Array;
  readonly words: Int32Array;
  readonly view: DataView;
}

/**
 * Copy `len` packet bytes from `src` to `dst` (the packet capture behind an
 * event). Typed-array elements cost TurboFan the same checks whatever their
 * size, so the copy moves the widest elements both offsets allow: float64s
 * when both are 8-aligned (skb data and event payloads normally are; element
 * loads and stores move the bits as they are, NaN patterns included, which
 * the tests check), then Int32 words; a length that is not a whole number of
 * words ends with one DataView word over the last four bytes (the bytes it
 * copies twice get the same values). Unaligned offsets go through copyView.
 * The ranges must not overlap.
 */
export function copyPacket(dst: PacketViews, dstOff: number, src: PacketViews, srcOff: number, len: number): void {
  if (((dstOff | srcOff) & 7) !== 0 || len < 4) {
    copyPacketUnaligned(dst, dstOff, src, srcOff, len);
    return;
  }
  localCopyFloat64s(dst.f64, dstOff >> 3, src.f64, srcOff >> 3, len >> 3);
  if ((len & 4) !== 0) dst.words[(dstOff + (len & ~7)) >> 2] = src.words[(srcOff + (len & ~7)) >> 2];
  if ((len & 3) !== 0) dst.view.setInt32(dstOff + len - 4, src.view.getInt32(srcOff + len - 4, true), true);
}

/**
 * Copy `n` float64 elements, s[i..] to d[j..], their bits as they are (NaN
 * patterns included). The first eight (most packet captures: the headers) go
 * in straight-line code, where TurboFan checks each array once; a loop
 * re-checks every round.
 */
export function copyFloat64s(d: Float64Array, j: number, s: Float64Array, i: number, n: number): void {
  const end = i + n;
  if (n >= 8) {
    d[j] = s[i];
    d[j + 1] = s[i + 1];
    d[j + 2] = s[i + 2];
    d[j + 3] = s[i + 3];
    d[j + 4] = s[i + 4];
    d[j + 5] = s[i + 5];
    d[j + 6] = s[i + 6];
    d[j + 7] = s[i + 7];
    i += 8;
    j += 8;
  }
  for (; i < end; i++, j++) d[j] = s[i];
}

/** copyPacket() for offsets that are not both 8-aligned, and lengths under a word. */
function copyPacketUnaligned(dst: PacketViews, dstOff: number, src: PacketViews, srcOff: number, len: number): void {
  if (((dstOff | srcOff) & 3) !== 0 || len < 4) {
    copyView(dst.view, dstOff, src.view, srcOff, len);
    return;
  }
  const d = dst.words;
  const s = src.words;
  let j = dstOff >> 2;
  let i = srcOff >> 2;
  const end = i + (len >> 2);
  for (; i < end; i++, j++) d[j] = s[i];
  if ((len & 3) !== 0) dst.view.setInt32(dstOff + len - 4, src.view.getInt32(srcOff + len - 4, true), true);
}

/**
 * PacketViews over `frame`'s bytes for copyPacket(), or null where they
 * cannot start with it: float64 and Int32 views need an 8-aligned start.
 */
function sourceViews(frame: Uint8Array): PacketViews | null {
  const { buffer, byteOffset, byteLength } = frame;
  if ((byteOffset & 7) !== 0) return null;
  return { f64: new Float64Array(buffer, byteOffset, byteLength >> 3), words: new Int32Array(buffer, byteOffset, byteLength >> 2), view: new DataView(buffer, byteOffset, byteLength) };
}

/** A packet buffer of at least `n` bytes, a whole number of float64s so an Int32Array and a Float64Array cover it. */
function packetBuffer(n: number): Uint8Array {
  return new Uint8Array((n + 7) & ~7);
}

export class SkBuff {
  /** The bytes; replaced (with `view`, `words` and `f64`) only by load() when a frame does not fit, and swapped by adopt(). */
  buf: Uint8Array;
  /** DataView over `buf`. */
  view: DataView;
  /** `buf` as Int32 words and float64s (host order), for packet copies (copyPacket). */
  words: Int32Array;
  f64: Float64Array;
  /** Offset of the Ethernet header in buf. */
  off = 0;
  /** Bytes of frame from off. */
  len = 0;
  /** Device the packet is on now; the program's ctx_get_ifindex(). */
  ifindex = 0;
  mark = 0;
  // The two u32 fields below hold their bits as an int32 (`x | 0`; read the
  // u32 as `x >>> 0`): a property V8 ever sees at 2^31 or more becomes a boxed
  // double, which every read on the packet path then unboxes and converts.
  /** skb->hash: symmetric flow hash, carried into events as "flow 0x…". */
  hash = 0;
  readonly cb = new Uint32Array(5);
  /** Tunnel metadata (bpf_skb_get/set_tunnel_key). */
  tunnelValid = false;
  tunnelId = 0;
  /** The tunnel's remote IPv4 address (int32 bits, see hash). */
  tunnelRemoteIpv4 = 0;
  tunnelTtl = 0;
  /** Set by bpf_redirect*(): where the kernel sends the packet after TC_ACT_REDIRECT. */
  redirectIfindex = 0;
  redirectFlags = 0;
  /** Drop reason of the last drop notification (for tests and the trace, not read by programs). */
  dropReason = 0;

  /** The last buffer a frame was loaded from at an offset, and views of it (see load). */
  private srcBuf: Uint8Array | null = null;
  private srcView: DataView | null = null;
  private src: PacketViews | null = null;

  constructor(capacity = 2048) {
    this.buf = packetBuffer(capacity);
    this.view = new DataView(this.buf.buffer);
    this.words = new Int32Array(this.buf.buffer);
    this.f64 = new Float64Array(this.buf.buffer);
  }

  /** Copy a frame in with headroom, clearing all metadata (a fresh skb). */
  load(frame: Uint8Array, frameOff = 0, frameLen = frame.length - frameOff, headroom = DEFAULT_HEADROOM): this {
    const need = headroom + frameLen;
    if (this.buf.length < need) {
      this.buf = packetBuffer(Math.max(need, this.buf.length * 2));
      this.view = new DataView(this.buf.buffer);
      this.words = new Int32Array(this.buf.buffer);
      this.f64 = new Float64Array(this.buf.buffer);
    }
    if (frameOff === 0 && frameLen === frame.length) this.buf.set(frame, headroom);
    else {
      // A frame inside a bigger buffer (an RX descriptor's buffer area): the
      // same buffer frame after frame, so keep views of it and copy as
      // packet copies go, by float64s where both offsets are 8-aligned.
      if (frame !== this.srcBuf) {
        this.srcBuf = frame;
        this.src = sourceViews(frame);
        this.srcView = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      }
      const src = this.src;
      const whole = (frameLen + 7) >> 3;
      // Whole float64s when the area holds the last one in full (an RX area's
      // frames start 8-aligned, so it does): the bytes it copies past the
      // frame's end land past len, which nothing reads, and the frame's tail
      // needs no word or DataView copy of its own.
      if (src !== null && ((headroom | frameOff) & 7) === 0 && (frameOff >> 3) + whole <= src.f64.length) localCopyFloat64s(this.f64, headroom >> 3, src.f64, frameOff >> 3, whole);
      else if (src !== null) copyPacket(this, headroom, src, frameOff, frameLen);
      else copyView(this.view, headroom, this.srcView as DataView, frameOff, frameLen);
    }
    this.off = headroom;
    this.len = frameLen;
    this.resetMeta();
    return this;
  }

  /**
   * Take over `from`'s frame without copying it: the two skbs swap buffers
   * (the sender gives its frame away and keeps this one's old buffer), and
   * this one starts with fresh metadata, as load() would. For the wire
   * between two simulated kernels, where the sender is done with its skb.
   */
  adopt(from: SkBuff): this {
    const buf = this.buf;
    const view = this.view;
    const words = this.words;
    const f64 = this.f64;
    this.buf = from.buf;
    this.view = from.view;
    this.words = from.words;
    this.f64 = from.f64;
    from.buf = buf;
    from.view = view;
    from.words = words;
    from.f64 = f64;
    this.off = from.off;
    this.len = from.len;
    this.resetMeta();
    return this;
  }

  /** Zero the cb[] scratch words (five stores beat the fill() builtin call). */
  clearCb(): void {
    const cb = this.cb;
    cb[0] = 0;
    cb[1] = 0;
    cb[2] = 0;
    cb[3] = 0;
    cb[4] = 0;
  }

  resetMeta(): void {
    this.ifindex = 0;
    this.mark = 0;
    this.hash = 0;
    this.clearCb();
    this.tunnelValid = false;
    this.tunnelId = 0;
    this.tunnelRemoteIpv4 = 0;
    this.tunnelTtl = 0;
    this.redirectIfindex = 0;
    this.redirectFlags = 0;
    this.dropReason = 0;
  }

  /** A copy of the frame bytes (for handing to a receiver or a pcap). */
  frame(): Uint8Array {
    return this.buf.slice(this.off, this.off + this.len);
  }

  /** Grow the front by n bytes (headroom permitting); false when there is no room. */
  pushHead(n: number): boolean {
    if (this.off < n) return false;
    this.off -= n;
    this.len += n;
    return true;
  }

  /** Remove n bytes from the front. */
  pullHead(n: number): boolean {
    if (this.len < n) return false;
    this.off += n;
    this.len -= n;
    return true;
  }
}
