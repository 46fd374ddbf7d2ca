// The physical network between nodes (and external hosts): one L2 segment.
// Frames are delivered by destination MAC after a link latency on the clock;
// taps see every frame (for pcap capture of "the wire").

import { ETH } from '../packet/ethernet.js';
import { MAC_BROADCAST, readMac, writeMac } from '../packet/mac.js';
import { readU16BE, readU32BE } from '../bpf/bytes.js';
import type { Clock } from '../util/clock.js';

export interface UnderlayPort {
  readonly ip: number;
  readonly mac: number;
  /** A frame arrives; the bytes are only valid during the call (copy to keep them). */
  receive(buf: Uint8Array, off: number, len: number): void;
}

export type WireTap = (frame: Uint8Array, timeMs: number) => void;

/**
 * The segment's gateway MAC. Hosts whose stacks send everything to their
 * gateway (external hosts) use it; the segment then switches the frame to
 * whichever port owns the destination IP, as proxy ARP on a bridge would.
 */
export const UNDERLAY_GATEWAY_MAC = 0x02_42_ac_12_00_01;

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
    let dst = readMac(buf, off + ETH.DST);
    if (dst === UNDERLAY_GATEWAY_MAC && len >= ETH.HEADER_LEN + 20 && readU16BE(buf, off + ETH.ETHERTYPE) === 0x0800) {
      const owner = this.byIp.get(readU32BE(buf, off + ETH.HEADER_LEN + 16));
      if (owner) {
        writeMac(buf, off + ETH.DST, owner.mac);
        dst = owner.mac;
      }
    }
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
