// Capture as a layer around a device, not code inside the stack: attach to the
// underlay (or a node's device taps) and every frame seen goes to a pcap.

import { PcapWriter } from '../packet/pcap.js';
import type { Clock } from '../util/clock.js';
import type { Underlay } from './underlay.js';
import { concatBytes } from '../util/bytes.js';

export interface Capture {
  /** The pcap bytes so far. */
  bytes(): Uint8Array;
  /** Frames written. */
  readonly count: number;
  stop(): void;
}

/** Record every underlay frame, timestamped with the clock's wall time. */
export function captureUnderlay(underlay: Underlay, clock: Clock): Capture {
  const chunks: Uint8Array[] = [];
  const writer = new PcapWriter((c) => chunks.push(c));
  let count = 0;
  const stop = underlay.addTap((frame, timeMs) => {
    writer.writePacket(clock.wallNow() - clock.now() + timeMs, frame, 0, frame.length);
    count++;
  });
  return {
    bytes: () => concatBytes(chunks),
    get count() {
      return count;
    },
    stop,
  };
}
