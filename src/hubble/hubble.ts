// Hubble for a cluster: one observer per node on that node's cilium_events
// ring, a shared history store, metrics, and the relay. The observers drain
// their rings right after the datapath writes (a microtask after the packet's
// work, or at once when a ring is half full), so rings never overflow and
// --follow sees a flow at the virtual instant its packet was handled.

import type { EventRing } from '../bpf/ringbuf.js';
import type { KeyValueMap } from '../bpf/types.js';
import type { DatapathEvent } from '../datapath/monitor.js';
import type { Clock } from '../util/clock.js';
import { Rng } from '../util/rng.js';
import { ClusterIndex, NodeEnricher, type HubbleNodeSource, type ObjectView } from './enricher.js';
import { compareTime, type Flow } from './flow.js';
import { FlowHistory } from './history.js';
import { HubbleMetrics } from './metrics.js';
import { DEFAULT_RING_CAPACITY, NodeObserver } from './observer.js';
import { FlowParser, NO_POLICY_NAMES, isPolicyNamer, type Enricher, type PolicyNamer } from './parser.js';
import { Relay, type HubbleBackend, type ObserverSet } from './relay.js';

export interface HubbleNode extends HubbleNodeSource {
  dp: { events: EventRing; metrics: KeyValueMap };
}

export interface HubbleHistoryConfig {
  /** SQLite file, ':memory:' (default); false: no history, the ring only. */
  path?: string | false;
  maxRows?: number;
  maxAgeMs?: number;
}

export interface HubbleOptions {
  clock: Clock;
  clusterName: string;
  view: ObjectView;
  identities: { labelsOf(id: number): readonly string[] | undefined };
  /** Changes whenever cluster objects change (the store's resourceVersion). */
  version: () => number;
  nodes: readonly HubbleNode[];
  /** hubble-event-buffer-capacity: 2^n−1, default 4095. */
  capacity?: number;
  history?: HubbleHistoryConfig;
  /** Names the rules behind policy-verdict cookies; anything with a policies(cookie) method (the policy engine). */
  policyNamer?: unknown;
  dnsNames?: (ip: number) => readonly string[] | undefined;
  seed?: number;
  /** Replace the cluster enricher (tests). */
  enricherFor?: (node: HubbleNode) => Enricher;
}

interface Subscriber {
  nodes: ReadonlySet<string> | null;
  cb: (flows: readonly Flow[]) => void;
}

export class Hubble implements ObserverSet {
  readonly observers: NodeObserver[] = [];
  readonly metrics: HubbleMetrics;
  readonly history: FlowHistory | undefined;
  readonly relay: Relay;
  private readonly subscribers = new Set<Subscriber>();
  private readonly eventTaps = new Set<(node: string, e: DatapathEvent) => void>();
  private namer: PolicyNamer;
  private scheduled = false;
  private closed = false;

  constructor(opts: HubbleOptions) {
    const clock = opts.clock;
    this.namer = isPolicyNamer(opts.policyNamer) ? opts.policyNamer : NO_POLICY_NAMES;
    const hist = opts.history ?? {};
    this.history =
      hist.path === false
        ? undefined
        : new FlowHistory({ path: hist.path ?? ':memory:', ...(hist.maxRows !== undefined ? { maxRows: hist.maxRows } : {}), ...(hist.maxAgeMs !== undefined ? { maxAgeMs: hist.maxAgeMs } : {}), now: () => clock.wallNow() });
    this.metrics = new HubbleMetrics(() => opts.nodes.map((n) => n.dp.metrics));
    const index = new ClusterIndex({ clusterName: opts.clusterName, view: opts.view, identities: opts.identities, version: opts.version, ...(opts.dnsNames ? { dnsNames: opts.dnsNames } : {}) });
    const rng = new Rng(opts.seed ?? 0x4b0b1e);
    const namer: PolicyNamer = { policies: (cookie, ctx) => this.namer.policies(cookie, ctx) };
    for (const node of opts.nodes) {
      const enricher = opts.enricherFor ? opts.enricherFor(node) : new NodeEnricher(index, node);
      const parser = new FlowParser({ enricher, policyNamer: namer, rng: rng.fork(), wallOffsetMs: () => clock.wallNow() - clock.now() });
      const obs = new NodeObserver({
        node: node.name,
        events: node.dp.events,
        parser,
        capacity: opts.capacity ?? DEFAULT_RING_CAPACITY,
        ...(this.history ? { history: this.history } : {}),
        monoNow: () => clock.now(),
        wallNow: () => clock.wallNow(),
        onFlow: (f) => this.metrics.record(f),
        onEvent: (e) => {
          for (const tap of this.eventTaps) tap(node.name, e);
        },
      });
      this.observers.push(obs);
      this.attach(obs);
    }
    this.relay = new Relay(this, { address: 'localhost:4245' });
  }

  /** Drain on every commit into the ring: at once past half full, else after the current work. */
  private attach(obs: NodeObserver): void {
    const ring = obs.events;
    const commit = ring.commit.bind(ring);
    const half = ring.capacity / 2;
    ring.commit = (dataOff?: number): void => {
      commit(dataOff);
      if (this.closed) return;
      if (ring.bytesUsed > half) this.deliver(obs.drain());
      else if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.drainAll();
        });
      }
    };
  }

  /** The rules behind policy-verdict cookies (the policy engine's attribution). */
  setPolicyNamer(namer: PolicyNamer): void {
    this.namer = namer;
  }

  /** Decoded datapath events as they are drained, per node (for `cilium monitor`). */
  tapEvents(cb: (node: string, e: DatapathEvent) => void): () => void {
    this.eventTaps.add(cb);
    return () => this.eventTaps.delete(cb);
  }

  drainAll(): void {
    if (this.closed) return;
    const batches = this.observers.map((o) => o.drain()).filter((b) => b.length);
    if (!batches.length) return;
    if (batches.length === 1) this.deliver(batches[0]!);
    else this.deliver(batches.flat().sort((a, b) => compareTime(a.time, b.time)));
  }

  private deliver(flows: Flow[]): void {
    if (!flows.length) return;
    for (const s of this.subscribers) {
      const mine = s.nodes ? flows.filter((f) => this.nodeOf(f, s.nodes!)) : flows;
      if (mine.length) s.cb(mine);
    }
  }

  private nodeOf(f: Flow, nodes: ReadonlySet<string>): boolean {
    for (const o of this.observers) if (nodes.has(o.node) && o.flowNodeName === f.node_name) return true;
    return false;
  }

  subscribe(nodes: ReadonlySet<string> | null, cb: (flows: readonly Flow[]) => void): () => void {
    const s: Subscriber = { nodes, cb };
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /** The relay (all nodes), or one node's observer as `hubble` inside that node's cilium pod sees it. */
  backend(node?: string): HubbleBackend {
    if (node === undefined) return this.relay;
    return new Relay(this, { address: 'unix:///var/run/cilium/hubble.sock', node });
  }

  observer(node: string): NodeObserver | undefined {
    return this.observers.find((o) => o.node === node);
  }

  close(): void {
    if (this.closed) return;
    this.drainAll();
    this.closed = true;
    this.subscribers.clear();
    this.history?.close();
  }
}
