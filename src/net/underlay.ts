// The physical network between nodes (and external hosts): one L2 segment.
// Frames are delivered by destination MAC after a link latency on the clock;
// taps see every frame (for pcap capture of "the wire").

import { ETH } from '../packet/ethernet.js';
import { MAC_BROADCAST, readMac } from '../packet/mac.js';
import type { Clock } from '../util/clock.js';

export interface UnderlayPort {
  readonly ip: number;
  readonly mac: number;
  /** A frame arrives; the bytes are only valid during the call (copy to keep them). */
  receive(buf: Uint8Array, off: number, len: number): void;
}

export type WireTap = (frame: Uint8Array, timeMs: number) => void;

export class Underlay {
  private readonly byMac = new Map<number, UnderlayPort>();
  private readonly byIp = new Map<number, UnderlayPort>();
  private readonly taps: WireTap[] = [];
  /** Frames no port claimed (wrong MAC). */
  unclaimed = 0;

  /**
   * @param latencyMs one-way delay of the segment
   * @param immediate deliver synchronously (benchmarks), instead of through the clock
   */
  constructor(
    private readonly clock: Clock,
    readonly latencyMs = 0.05,
    private readonly immediate = false,
  ) {}

  attach(port: UnderlayPort): void {
    this.byMac.set(port.mac, port);
    this.byIp.set(port.ip, port);
  }

  detach(port: UnderlayPort): void {
    this.byMac.delete(port.mac);
    this.byIp.delete(port.ip);
  }

  /** The neighbour table: MAC of an underlay address, or undefined. */
  macOf(ip: number): number | undefined {
    return this.byIp.get(ip)?.mac;
  }

  addTap(tap: WireTap): () => void {
    this.taps.push(tap);
    return () => {
      const i = this.taps.indexOf(tap);
      if (i >= 0) this.taps.splice(i, 1);
    };
  }

  /** Put a frame on the wire (the bytes are copied if delivery is not immediate). */
  send(buf: Uint8Array, off = 0, len = buf.length - off): void {
    if (this.taps.length) {
      const copy = buf.slice(off, off + len);
      for (const tap of this.taps) tap(copy, this.clock.now());
    }
    if (len < ETH.HEADER_LEN) return;
    const dst = readMac(buf, off + ETH.DST);
    if (dst !== MAC_BROADCAST) {
      const p = this.byMac.get(dst);
      if (p) this.deliver(p, buf, off, len);
      else this.unclaimed++;
      return;
    }
    for (const p of this.byMac.values()) this.deliver(p, buf, off, len);
  }

  private deliver(p: UnderlayPort, buf: Uint8Array, off: number, len: number): void {
    if (this.immediate) {
      p.receive(buf, off, len);
      return;
    }
    const frame = buf.slice(off, off + len);
    this.clock.setTimer(this.latencyMs, () => p.receive(frame, 0, frame.length));
  }
}
