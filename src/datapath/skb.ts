// The packet context a program runs on: Cilium's `struct __ctx_buff` (an skb at
// tc). Bytes live in `buf` with headroom in front so encapsulation can push
// headers in place; metadata fields are what BPF helpers read and write.

/** tc program return codes (CTX_ACT_*). */
export const TcAct = { OK: 0, SHOT: 2, REDIRECT: 7 } as const;

/** bpf_redirect flags; PEER stands for bpf_redirect_peer() into the pod's netns. */
export const RedirectFlags = { NONE: 0, INGRESS: 1, PEER: 2 } as const;

/** ctx->cb[] slots Cilium uses to pass state across tail calls. */
export const CB = { SRC_LABEL: 0, IFINDEX: 1, POLICY: 2, FROM_TUNNEL: 3, PROXY_MAGIC: 4 } as const;

export const DEFAULT_HEADROOM = 64;

/** Copy bytes between buffers (TypedArray#set beats a byte loop even with the subarray view it needs). */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  dst.set(src.subarray(srcOff, srcOff + len), dstOff);
}

export class SkBuff {
  buf: Uint8Array;
  /** Offset of the Ethernet header in buf. */
  off = 0;
  /** Bytes of frame from off. */
  len = 0;
  /** Device the packet is on now; the program's ctx_get_ifindex(). */
  ifindex = 0;
  mark = 0;
  /** skb->hash: symmetric flow hash, carried into events as "flow 0x…". */
  hash = 0;
  readonly cb = new Uint32Array(5);
  /** Tunnel metadata (bpf_skb_get/set_tunnel_key). */
  tunnelValid = false;
  tunnelId = 0;
  tunnelRemoteIpv4 = 0;
  tunnelTtl = 0;
  /** Set by bpf_redirect*(): where the kernel sends the packet after TC_ACT_REDIRECT. */
  redirectIfindex = 0;
  redirectFlags = 0;
  /** Drop reason of the last drop notification (for tests and the trace, not read by programs). */
  dropReason = 0;

  constructor(capacity = 2048) {
    this.buf = new Uint8Array(capacity);
  }

  /** Copy a frame in with headroom, clearing all metadata (a fresh skb). */
  load(frame: Uint8Array, frameOff = 0, frameLen = frame.length - frameOff, headroom = DEFAULT_HEADROOM): this {
    const need = headroom + frameLen;
    if (this.buf.length < need) this.buf = new Uint8Array(Math.max(need, this.buf.length * 2));
    if (frameOff === 0 && frameLen === frame.length) this.buf.set(frame, headroom);
    else copyBytes(this.buf, headroom, frame, frameOff, frameLen);
    this.off = headroom;
    this.len = frameLen;
    this.resetMeta();
    return this;
  }

  resetMeta(): void {
    this.ifindex = 0;
    this.mark = 0;
    this.hash = 0;
    this.cb.fill(0);
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
