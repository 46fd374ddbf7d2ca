// The physical network between nodes (and external hosts): one L2 segment.
// Frames are delivered by destination MAC after a link latency on the clock;
// taps see every frame (for pcap capture of "the wire").

import { ETH } from '../packet/ethernet.js';
import { MAC_BROADCAST, readMac as importedReadMac, writeMac } from '../packet/mac.js';
import { readU16BE, readU32BE } from '../bpf/bytes.js';
import type { Clock } from '../util/clock.js';
import type { SkBuff } from '../datapath/skb.js';

// Module-local bindings of small helpers called per packet: TurboFan folds a
// module's own const, where a call through an import loads the binding and
// checks, on every call, that it is initialised and still the function it inlined.
const readMac = importedReadMac;

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const BROADCAST_MAC = MAC_BROADCAST;

export interface UnderlayPort {
  readonly ip: number;
  readonly mac: number;
  /** A frame arrives; the bytes are only valid during the call (copy to keep them). */
  receive(buf: Uint8Array, off: number, len: number): void;
  /**
   * A frame arrives in the sender's skb, which the sender no longer uses: the
   * port may take its buffer instead of copying the bytes (SkBuff.adopt).
   * Optional; ports without it get receive().
   */
  receiveSkb?(skb: SkBuff): void;
}

export type WireTap = (frame: Uint8Array, timeMs: number) => void;

/**
 * The segment's gateway MAC. Hosts whose stacks send everything to their
 * gateway (external hosts) use it; the segment then switches the frame to
 * whichever port owns the destination IP, as proxy ARP on a bridge would.
 */
export const UNDERLAY_GATEWAY_MAC = 0x02_42_ac_12_00_01;
/** The same, module-local for route(): an export is read through its cell, as a boxed number, on every frame. */
const GATEWAY_MAC = UNDERLAY_GATEWAY_MAC;

/**
 * route()'s answer for a broadcast frame: a port object of its own, so route()
 * returns ports or null only and the callers' `=== BROADCAST` is a reference
 * compare (a string among objects made it a generic StrictEqual call).
 */
const BROADCAST: UnderlayPort = { ip: 0, mac: MAC_BROADCAST, receive: () => {} };

/**
 * Neighbour and switch tables are keyed by int32s: an IPv4 address as `ip | 0`,
 * a MAC by its low 32 bits (`| 0`). V8 hashes small integers inline, while a
 * key of 2^31 or more (192.168.x.x, any 48-bit MAC) is a heap number that
 * Map.get hashes in a runtime call, twice per frame on the wire.
 */
const ipKey = (ip: number): number => ip | 0;
const macKey = (mac: number): number => mac | 0;

export class Underlay {
  /** Every port by its full MAC (broadcast walks these; the exact fallback of byMacLow). */
  private readonly byMac = new Map<number, UnderlayPort>();
  /** Ports by the low 32 bits of their MAC; a hit is checked against the full MAC. */
  private readonly byMacLow = new Map<number, UnderlayPort>();
  private readonly byIp = new Map<number, UnderlayPort>();
  // The port the last frame went to and the last neighbour looked up: frames
  // between two nodes come in runs, and a Map lookup costs far more than the
  // compare. Forgotten whenever a port comes or goes.
  private lastPort: UnderlayPort | null = null;
  private lastNeighbour: UnderlayPort | null = null;
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
    this.lastPort = null;
    this.lastNeighbour = null;
    this.byMac.set(port.mac, port);
    // Same MAC again: the newer port, as in byMac; another MAC with the same low bits keeps its place (byMac resolves the rest).
    const low = this.byMacLow.get(macKey(port.mac));
    if (low === undefined || low.mac === port.mac) this.byMacLow.set(macKey(port.mac), port);
    this.byIp.set(ipKey(port.ip), port);
  }

  detach(port: UnderlayPort): void {
    this.lastPort = null;
    this.lastNeighbour = null;
    this.byMac.delete(port.mac);
    if (this.byMacLow.get(macKey(port.mac))?.mac === port.mac) this.byMacLow.delete(macKey(port.mac));
    this.byIp.delete(ipKey(port.ip));
  }

  /**
   * The neighbour table: the port that has an underlay address (as a u32 or
   * its int32 bits), or null. The kernel's VXLAN driver and IP forwarding ask
   * per packet and read the port's MAC themselves: a MAC (48 bits, never a
   * small integer) returned as `number | undefined` is boxed into a new heap
   * number at every call.
   */
  neighbour(ip: number): UnderlayPort | null {
    const last = this.lastNeighbour;
    if (last !== null && (last.ip | 0) === (ip | 0)) return last;
    const port = this.byIp.get(ipKey(ip));
    if (port === undefined) return null;
    this.lastNeighbour = port;
    return port;
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
    const p = this.route(buf, off, len);
    if (p === BROADCAST) for (const port of this.byMac.values()) this.deliver(port, buf, off, len);
    else if (p !== null) this.deliver(p, buf, off, len);
  }

  /**
   * Put the frame in `skb` on the wire; the sender is done with the skb. With
   * immediate delivery to a port that takes skbs, the frame changes hands
   * without a copy; otherwise as send().
   */
  sendSkb(skb: SkBuff): void {
    const p = this.route(skb.buf, skb.off, skb.len);
    if (p === BROADCAST) for (const port of this.byMac.values()) this.deliver(port, skb.buf, skb.off, skb.len);
    else if (p !== null) {
      if (this.immediate === true && p.receiveSkb !== undefined) p.receiveSkb(skb);
      else this.deliver(p, skb.buf, skb.off, skb.len);
    }
  }

  /** Taps see the frame; then the port it goes to, BROADCAST, or null (counted as unclaimed). */
  private route(buf: Uint8Array, off: number, len: number): UnderlayPort | null {
    if (this.taps.length) {
      const copy = buf.slice(off, off + len);
      for (const tap of this.taps) tap(copy, this.clock.now());
    }
    if (len < ETH.HEADER_LEN) return null;
    let dst = readMac(buf, off + ETH.DST);
    if (dst === GATEWAY_MAC && len >= ETH.HEADER_LEN + 20 && readU16BE(buf, off + ETH.ETHERTYPE) === 0x0800) {
      const owner = this.byIp.get(ipKey(readU32BE(buf, off + ETH.HEADER_LEN + 16)));
      if (owner) {
        writeMac(buf, off + ETH.DST, owner.mac);
        dst = owner.mac;
      }
    }
    if (dst === BROADCAST_MAC) return BROADCAST;
    const last = this.lastPort;
    if (last !== null && last.mac === dst) return last;
    const low = this.byMacLow.get(macKey(dst));
    if (low !== undefined && low.mac === dst) return (this.lastPort = low);
    const p = this.byMac.get(dst);
    if (p) return (this.lastPort = p);
    this.unclaimed++;
    return null;
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
