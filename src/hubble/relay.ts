// Hubble Relay: the same GetFlows request to every node's observer, the
// answers merged in time order, then (with follow) the live flows of all
// nodes. A relay over a single observer is what `hubble` inside a cilium pod
// talks to: that node's ring only, and no connected-nodes count.

import { compareTime, EMITTER, type Flow } from './flow.js';
import { compileFilters } from './filter.js';
import type { GetFlowsRequest, NodeObserver } from './observer.js';

export interface ServerStatus {
  num_flows: number;
  max_flows: number;
  seen_flows: number;
  uptime_ns: number;
  /** Set by the relay only. */
  num_connected_nodes?: number;
  num_unavailable_nodes?: number;
  unavailable_nodes?: string[];
  version: string;
  flows_rate: number;
}

export interface NodeInfo {
  name: string;
  version: string;
  address: string;
  state: 'NODE_CONNECTED' | 'NODE_UNAVAILABLE';
  tls: { enabled: boolean; server_name?: string };
  uptime_ns: number;
  num_flows: number;
  max_flows: number;
  seen_flows: number;
}

export interface FlowSink {
  flow(f: Flow): void;
  /** Something the user should know (history retention reached, ...): printed on stderr. */
  notice?(message: string): void;
}

/** What `hubble` talks to: the relay, one node's observer, or the daemon over its socket. */
export interface HubbleBackend {
  /** Shown as `Healthcheck (via <address>)`. */
  readonly address: string;
  readonly isRelay: boolean;
  /** Streams the answer into the sink; with follow it resolves when the signal aborts. */
  getFlows(req: GetFlowsRequest, sink: FlowSink, signal?: AbortSignal): Promise<void>;
  serverStatus(): Promise<ServerStatus>;
  nodes(): Promise<NodeInfo[]>;
}

/** What the relay needs from the Hubble instance that owns the observers. */
export interface ObserverSet {
  readonly observers: readonly NodeObserver[];
  /** Pull pending datapath events into the observers now. */
  drainAll(): void;
  /** Live flows of the given nodes (null = all), in time order per batch. */
  subscribe(nodes: ReadonlySet<string> | null, cb: (flows: readonly Flow[]) => void): () => void;
}

/** k-way merge of per-node lists that are each in time order. */
export function mergeByTime(lists: readonly (readonly Flow[])[]): Flow[] {
  const nonEmpty = lists.filter((l) => l.length);
  if (nonEmpty.length <= 1) return [...(nonEmpty[0] ?? [])];
  const idx = nonEmpty.map(() => 0);
  const out: Flow[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < nonEmpty.length; i++) {
      if (idx[i]! >= nonEmpty[i]!.length) continue;
      if (best < 0 || compareTime(nonEmpty[i]![idx[i]!]!.time, nonEmpty[best]![idx[best]!]!.time) < 0) best = i;
    }
    if (best < 0) return out;
    out.push(nonEmpty[best]![idx[best]!++]!);
  }
}

export class Relay implements HubbleBackend {
  readonly isRelay: boolean;
  readonly address: string;
  private readonly nodeNames: ReadonlySet<string> | null;

  constructor(
    private readonly set: ObserverSet,
    opts: { address: string; node?: string },
  ) {
    this.address = opts.address;
    this.isRelay = opts.node === undefined;
    this.nodeNames = opts.node === undefined ? null : new Set([opts.node]);
    if (opts.node !== undefined && !set.observers.some((o) => o.node === opts.node)) throw new Error(`no Hubble observer on node "${opts.node}"`);
  }

  private get observers(): NodeObserver[] {
    const names = this.nodeNames;
    return this.set.observers.filter((o) => !names || names.has(o.node));
  }

  getFlows(req: GetFlowsRequest, sink: FlowSink, signal?: AbortSignal): Promise<void> {
    if (req.first && req.follow) return Promise.reject(new Error('first cannot be specified with follow'));
    let match;
    try {
      match = compileFilters(req.whitelist, req.blacklist);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    this.set.drainAll();
    const parts = this.observers.map((o) => o.read(req, match));
    for (const p of parts) for (const n of p.notices) sink.notice?.(n);
    for (const f of mergeByTime(parts.map((p) => p.flows))) sink.flow(f);
    if (!req.follow) return Promise.resolve();
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const unsubscribe = this.set.subscribe(this.nodeNames, (flows) => {
        for (const f of flows) if (match(f)) sink.flow(f);
      });
      signal?.addEventListener(
        'abort',
        () => {
          unsubscribe();
          resolve();
        },
        { once: true },
      );
    });
  }

  serverStatus(): Promise<ServerStatus> {
    this.set.drainAll();
    const st = this.observers.map((o) => o.status());
    const sum = (k: 'num_flows' | 'max_flows' | 'seen_flows' | 'flows_rate'): number => st.reduce((a, s) => a + s[k], 0);
    const status: ServerStatus = {
      num_flows: sum('num_flows'),
      max_flows: sum('max_flows'),
      seen_flows: sum('seen_flows'),
      uptime_ns: Math.max(0, ...st.map((s) => s.uptime_ns)),
      version: EMITTER.version,
      flows_rate: sum('flows_rate'),
    };
    if (this.isRelay) {
      status.num_connected_nodes = st.length;
      status.num_unavailable_nodes = 0;
    }
    return Promise.resolve(status);
  }

  nodes(): Promise<NodeInfo[]> {
    if (!this.isRelay) return Promise.reject(new Error('GetNodes is not implemented by the agent: ask the relay'));
    this.set.drainAll();
    return Promise.resolve(
      this.observers.map((o) => {
        const s = o.status();
        return {
          name: o.flowNodeName,
          version: EMITTER.version,
          address: `${o.node}:4244`,
          state: 'NODE_CONNECTED' as const,
          tls: { enabled: false },
          uptime_ns: s.uptime_ns,
          num_flows: s.num_flows,
          max_flows: s.max_flows,
          seen_flows: s.seen_flows,
        };
      }),
    );
  }
}
