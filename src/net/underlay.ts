// The physical network between nodes (and external hosts): one L2 segment.
// Frames are delivered by destination MAC after a link latency on the clock;
// taps see every frame (for pcap capture of "the wire").

import { ETH } from '../packet/ethernet.js';
import { MAC_BROADCAST, readMac } from '../packet/mac.js';
import type { Clock } from '../util/clock.js';

export interface UnderlayPort {
  readonly ip: number;
  readonly mac: number;
  receive(frame: Uint8Array): void;
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

  /** Put a frame on the wire. The array becomes the wire's. */
  send(frame: Uint8Array): void {
    for (const tap of this.taps) tap(frame, this.clock.now());
    if (frame.length < ETH.HEADER_LEN) return;
    const dst = readMac(frame, ETH.DST);
    const targets: UnderlayPort[] = [];
    if (dst === MAC_BROADCAST) targets.push(...this.byMac.values());
    else {
      const p = this.byMac.get(dst);
      if (p) targets.push(p);
    }
    if (targets.length === 0) {
      this.unclaimed++;
      return;
    }
    for (const p of targets) {
      if (this.immediate) p.receive(frame);
      else this.clock.setTimer(this.latencyMs, () => p.receive(frame));
    }
  }
}
