// A node's Hubble observer: it drains the node's cilium_events ring, turns
// each event into a Flow, keeps the newest flows in a ring buffer (4,095 by
// default) and hands every flow to the history store. Reads follow Hubble's
// GetFlows rules: --first reads forward from the oldest flow, --since rewinds
// to that time and reads forward, --last N walks back over N matching flows;
// where the ring has wrapped, the history store continues it.

import type { EventRing } from '../bpf/ringbuf.js';
import { decodeEvent, type DatapathEvent } from '../datapath/monitor.js';
import { compareTime, formatTimestamp, timeMicros, timeToMillis, type Flow, type Timestamp } from './flow.js';
import type { FlowFilter, FlowPredicate } from './filter.js';
import type { FlowHistory } from './history.js';
import type { FlowParser } from './parser.js';

export const DEFAULT_RING_CAPACITY = 4095;

/** GetFlowsRequest, as far as podpath serves it. `number` Infinity = --all. */
export interface GetFlowsRequest {
  number?: number;
  first?: boolean;
  follow?: boolean;
  whitelist?: FlowFilter[];
  blacklist?: FlowFilter[];
  since?: Timestamp;
  until?: Timestamp;
}

export function isValidCapacity(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 0x7fffffff && ((n + 1) & n) === 0;
}

/** Hubble's flow ring: capacity 2^n−1, oldest entries overwritten, each entry numbered. */
export class FlowRing {
  readonly capacity: number;
  private readonly slots: (Flow | undefined)[];
  /** Sequence number the next flow gets. */
  private next: number;
  private readonly first: number;

  constructor(capacity = DEFAULT_RING_CAPACITY, firstSeq = 0) {
    if (!isValidCapacity(capacity)) throw new Error(`invalid ring buffer capacity ${capacity}: must be one less than a power of 2 (1, 3, 7, ..., 4095, 8191, ...)`);
    this.capacity = capacity;
    this.slots = new Array<Flow | undefined>(capacity);
    this.next = firstSeq;
    this.first = firstSeq;
  }

  push(f: Flow): number {
    const seq = this.next++;
    this.slots[seq % this.capacity] = f;
    return seq;
  }

  get size(): number {
    return Math.min(this.next - this.first, this.capacity);
  }

  /** Sequence number of the oldest flow held (== newestSeq+1 when empty). */
  get oldestSeq(): number {
    return this.next - this.size;
  }

  get nextSeq(): number {
    return this.next;
  }

  /** Whether flows were overwritten (older flows exist only in history, if anywhere). */
  get wrapped(): boolean {
    return this.next - this.first > this.capacity;
  }

  at(seq: number): Flow | undefined {
    if (seq < this.oldestSeq || seq >= this.next) return undefined;
    return this.slots[seq % this.capacity];
  }
}

export interface ObserverStatus {
  num_flows: number;
  max_flows: number;
  seen_flows: number;
  uptime_ns: number;
  flows_rate: number;
  /** Events the datapath could not write (full perf ring). */
  lost_events: number;
}

export interface NodeObserverOptions {
  node: string;
  events: EventRing;
  parser: FlowParser;
  capacity?: number;
  history?: FlowHistory;
  /** Monotonic ms (the cluster clock's now()). */
  monoNow: () => number;
  /** Wall-clock ms. */
  wallNow: () => number;
  /** Called with each flow as it is parsed (metrics). */
  onFlow?: (f: Flow) => void;
  /** Called with each decoded event (a `cilium monitor` tap). */
  onEvent?: (e: DatapathEvent) => void;
}

export class NodeObserver {
  readonly node: string;
  readonly ring: FlowRing;
  readonly events: EventRing;
  private readonly parser: FlowParser;
  private readonly history: FlowHistory | undefined;
  private readonly onFlow: ((f: Flow) => void) | undefined;
  private readonly onEvent: ((e: DatapathEvent) => void) | undefined;
  private readonly startedMono: number;
  private readonly monoNow: () => number;
  private readonly wallNow: () => number;
  private seen = 0;

  constructor(opts: NodeObserverOptions) {
    this.node = opts.node;
    this.events = opts.events;
    this.parser = opts.parser;
    this.history = opts.history;
    this.onFlow = opts.onFlow;
    this.onEvent = opts.onEvent;
    this.monoNow = opts.monoNow;
    this.wallNow = opts.wallNow;
    this.startedMono = opts.monoNow();
    const first = this.history ? this.history.maxSeq(opts.node) + 1 : 0;
    this.ring = new FlowRing(opts.capacity ?? DEFAULT_RING_CAPACITY, first);
  }

  /** The name flows carry (`cluster/node` outside the default cluster). */
  get flowNodeName(): string {
    return this.parser.nodeName;
  }

  /** Take every pending event from the datapath ring; returns the new flows, oldest first. */
  drain(): Flow[] {
    const ring = this.events;
    if (ring.empty) return [];
    const out: Flow[] = [];
    const parser = this.parser;
    parser.beginBatch();
    const stored: { seq: number; flow: Flow }[] = [];
    ring.consume((data, off, len) => {
      const ev = decodeEvent(data, off, len);
      if (!ev) return;
      this.onEvent?.(ev);
      const f = parser.parse(ev);
      if (!f) return;
      const seq = this.ring.push(f);
      this.seen++;
      out.push(f);
      if (this.history) stored.push({ seq, flow: f });
      this.onFlow?.(f);
    });
    if (this.history && stored.length) this.history.append(this.node, stored);
    return out;
  }

  /** Add an already-parsed flow (tests, benchmarks, L7 sources). */
  ingest(f: Flow): void {
    const seq = this.ring.push(f);
    this.seen++;
    this.history?.append(this.node, [{ seq, flow: f }]);
    this.onFlow?.(f);
  }

  /**
   * The historical part of GetFlows, oldest first. Notices say when the
   * request reaches before what history keeps.
   */
  read(req: GetFlowsRequest, match: FlowPredicate): { flows: Flow[]; notices: string[] } {
    const notices: string[] = [];
    const number = req.number ?? 0;
    const since = req.since;
    const until = req.follow ? undefined : req.until;
    const ring = this.ring;
    const history = this.history;
    const ringOldest = ring.oldestSeq;
    const afterUntil = (f: Flow): boolean => until !== undefined && compareTime(f.time, until) > 0;

    if (since) this.retentionNotice(since, notices);

    if (req.first || since) {
      // Forward: from the oldest flow (--first) or the first one at/after --since.
      const out: Flow[] = [];
      const take = (f: Flow): boolean => {
        if (since && compareTime(f.time, since) < 0) return true;
        if (afterUntil(f)) return false;
        if (match(f)) out.push(f);
        return !(number > 0 && out.length >= number);
      };
      let go = true;
      const ringStartsAfterSince = !since || ring.size === 0 || compareTime(ring.at(ringOldest)!.time, since) > 0;
      if (history && ringStartsAfterSince) {
        const q = { node: this.node, beforeSeq: ringOldest, order: 'asc' as const, ...(since ? { sinceMicros: timeMicros(since) } : {}), ...(until ? { untilMicros: timeMicros(until) + 1 } : {}), ...(req.whitelist ? { whitelist: req.whitelist } : {}) };
        for (const r of history.scan(q)) if (!(go = take(r.flow))) break;
      }
      if (go) {
        let seq = ringOldest;
        if (since) {
          // Rewind: the first entry not older than since.
          let lo = ringOldest;
          let hi = ring.nextSeq;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (compareTime(ring.at(mid)!.time, since) < 0) lo = mid + 1;
            else hi = mid;
          }
          seq = lo;
        }
        for (; seq < ring.nextSeq; seq++) if (!take(ring.at(seq)!)) break;
      }
      return { flows: out, notices };
    }

    if (req.follow && !number) return { flows: [], notices };

    // Rewind over `number` matching flows, newest first, then read them forward.
    const back: Flow[] = [];
    for (let seq = ring.nextSeq - 1; seq >= ringOldest && back.length < number; seq--) {
      const f = ring.at(seq)!;
      if (match(f)) back.push(f);
    }
    if (history && back.length < number) {
      const q = { node: this.node, beforeSeq: ringOldest, order: 'desc' as const, ...(req.whitelist ? { whitelist: req.whitelist } : {}) };
      for (const r of history.scan(q)) {
        if (match(r.flow)) back.push(r.flow);
        if (back.length >= number) break;
      }
    }
    back.reverse();
    const cut = until ? back.findIndex(afterUntil) : -1;
    return { flows: cut >= 0 ? back.slice(0, cut) : back, notices };
  }

  private retentionNotice(since: Timestamp, notices: string[]): void {
    const sinceUs = timeMicros(since);
    if (this.history) {
      const pruned = this.history.prunedBefore(this.node);
      if (pruned !== undefined && pruned >= sinceUs) {
        const { maxRows, maxAgeMs } = this.history.limits;
        notices.push(
          `${this.flowNodeName}: flows before ${formatTimestamp({ seconds: Math.floor(pruned / 1e6), nanos: (pruned % 1e6) * 1000 })} are no longer kept (history retention: ${maxRows} flows, ${Math.round(maxAgeMs / 60_000)}m); showing what is kept`,
        );
      }
    } else if (this.ring.wrapped && this.ring.size > 0 && compareTime(this.ring.at(this.ring.oldestSeq)!.time, since) > 0) {
      notices.push(`${this.flowNodeName}: the ring buffer (${this.ring.capacity} flows) starts at ${formatTimestamp(this.ring.at(this.ring.oldestSeq)!.time)}; older flows are not kept`);
    }
  }

  status(): ObserverStatus {
    const ring = this.ring;
    let rate = 0;
    if (ring.size > 0) {
      // Flows per second over the last minute, counted from the ring's timestamps.
      const from = this.wallNow() - 60_000;
      let n = 0;
      for (let seq = ring.nextSeq - 1; seq >= ring.oldestSeq; seq--) {
        if (timeToMillis(ring.at(seq)!.time) < from) break;
        n++;
      }
      rate = n / 60;
    }
    return {
      num_flows: ring.size,
      max_flows: ring.capacity,
      seen_flows: this.seen,
      uptime_ns: Math.round((this.monoNow() - this.startedMono) * 1e6),
      flows_rate: rate,
      lost_events: this.events.lost,
    };
  }
}
