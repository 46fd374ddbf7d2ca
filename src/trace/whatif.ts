// `podpath whatif FILE.yaml`: the connectivity between all pods that would
// change if the manifests were applied (or policies removed), as a diff of
// two reachability matrices, like netpol-analyzer's `diff`. Both matrices come
// from traces through the real programs: one fork with the live maps, one
// whose policy maps a forked policy engine computed with the change. Nothing
// reaches the cluster.
//
// Pods with the same identity get the same policy maps (Cilium computes one
// policy per identity), so each (source identity, destination identity,
// destination port, destination named ports) is traced once and the answer
// holds for every pod pair of that class.

import type { ClusterRuntime } from '../cluster/runtime.js';
import { R } from '../cluster/controllers/common.js';
import type { KubeObject } from '../k8s/types.js';
import { tabwrite } from '../util/tabwriter.js';
import { parsePolicyRef, type PolicyRef } from './fork.js';
import type { TraceProtocol, TraceResult, TraceStep } from './model.js';
import { newFork, resolveReceiver, resolveSender, runOnce, TraceError, type RunResult } from './trace.js';

export interface WhatIfChange {
  diff: 'changed';
  source: string;
  destination: string;
  port: number;
  protocol: TraceProtocol;
  before: 'allowed' | 'denied';
  after: 'allowed' | 'denied';
  /** What decided after the change (the deciding policy step's explanation, or the drop). */
  reason: string;
}

export interface WhatIfResult {
  added: string[];
  removed: string[];
  problems: string[];
  pods: number;
  /** Pod pairs × ports evaluated. */
  pairs: number;
  /** Distinct traces run per side (classes of identical policy). */
  traced: number;
  changes: WhatIfChange[];
  elapsedMs: number;
}

export interface WhatIfOptions {
  /** Only pods in these namespaces (both ends). */
  namespaces?: string[];
}

interface PodRow {
  key: string;
  identity: number;
  ports: { port: number; protocol: TraceProtocol }[];
  namedSig: string;
}

function podRows(rt: ClusterRuntime, opts: WhatIfOptions): PodRow[] {
  const out: PodRow[] = [];
  for (const p of rt.cache.list(R.pods)) {
    const ns = p.metadata.namespace ?? 'default';
    if (opts.namespaces?.length && !opts.namespaces.includes(ns)) continue;
    const spec = (p['spec'] ?? {}) as { nodeName?: string; hostNetwork?: boolean; containers?: { ports?: { containerPort?: number; protocol?: string; name?: string }[] }[] };
    if (spec.hostNetwork || !spec.nodeName) continue;
    const ep = rt.node(spec.nodeName)?.agent.endpointOf(ns, p.metadata.name ?? '');
    if (!ep?.ipv4) continue;
    const ports: PodRow['ports'] = [];
    const named: string[] = [];
    for (const c of spec.containers ?? []) {
      for (const cp of c.ports ?? []) {
        if (!cp.containerPort) continue;
        const protocol = (cp.protocol ?? 'TCP').toUpperCase() as TraceProtocol;
        if (!ports.some((x) => x.port === cp.containerPort && x.protocol === protocol)) ports.push({ port: cp.containerPort, protocol });
        if (cp.name) named.push(`${cp.name}:${cp.containerPort}/${protocol}`);
      }
    }
    out.push({ key: `${ns}/${p.metadata.name}`, identity: ep.identity, ports, namedSig: named.sort().join(',') });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

function allowed(r: RunResult): boolean {
  return r.verdict === 'ALLOWED';
}

function reasonOf(steps: TraceStep[], r: RunResult): string {
  // The policy decision names the rules; the drop that follows it only the code.
  const latest = [...steps].reverse();
  const pol = latest.find((s) => s.kind === 'policy' && s.policy?.verdict === 'deny') ?? latest.find((s) => s.kind === 'drop');
  if (pol?.policy) return `${pol.policy.direction} of endpoint ${pol.policy.endpointId}: ${pol.policy.explanation}`;
  const allow = steps.filter((s) => s.kind === 'policy' && s.policy?.enforced).map((s) => `${s.policy!.direction}: ${s.policy!.explanation}`);
  return allow.length ? allow.join('; ') : r.forward.outcome.text;
}

/** What would change. `add`: manifests (policies); `remove`: KIND/NS/NAME. */
export function whatIf(rt: ClusterRuntime, add: readonly KubeObject[], remove: readonly string[] = [], opts: WhatIfOptions = {}): WhatIfResult {
  const t0 = performance.now();
  const refs: PolicyRef[] = [];
  for (const w of remove) {
    const r = parsePolicyRef(w);
    if ('error' in r) throw new TraceError(r.error);
    refs.push(r);
  }
  const before = newFork(rt, null);
  const after = newFork(rt, { add, remove: refs });
  before.fork.all();
  after.fork.all();
  const rows = podRows(rt, opts);
  const cache = new Map<string, { b: RunResult; a: RunResult }>();
  const changes: WhatIfChange[] = [];
  let pairs = 0;
  let port = 20000;
  for (const dst of rows) {
    for (const p of dst.ports) {
      for (const src of rows) {
        if (src.key === dst.key) continue;
        pairs++;
        const cls = `${src.identity}|${dst.identity}|${dst.namedSig}|${p.port}/${p.protocol}`;
        let hit = cache.get(cls);
        if (!hit) {
          const s = resolveSender(rt, src.key);
          const d = resolveReceiver(rt, dst.key, s);
          // A source port per class, so no trace meets another's conntrack entry in the shared forks.
          const req = { src: src.key, dst: dst.key, port: p.port, reply: false, srcPort: port++ };
          hit = { b: runOnce(rt, s, d, req, p.protocol, p.port, before), a: runOnce(rt, s, d, req, p.protocol, p.port, after) };
          cache.set(cls, hit);
        }
        const was = allowed(hit.b);
        const now = allowed(hit.a);
        if (was === now) continue;
        changes.push({ diff: 'changed', source: src.key, destination: dst.key, port: p.port, protocol: p.protocol, before: was ? 'allowed' : 'denied', after: now ? 'allowed' : 'denied', reason: reasonOf(hit.a.steps, hit.a) });
      }
    }
  }
  const hyp = after.fork.hypothetical;
  return {
    added: (hyp?.added ?? []).map((a) => `${a.kind}/${a.namespace ? `${a.namespace}/` : ''}${a.name}`),
    removed: refs.map((r) => `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`),
    problems: after.problems,
    pods: rows.length,
    pairs,
    traced: cache.size,
    changes,
    elapsedMs: Math.round(performance.now() - t0),
  };
}

export function formatWhatIf(w: WhatIfResult): string {
  const out: string[] = [];
  const what = [...w.added.map((a) => `+${a}`), ...w.removed.map((a) => `-${a}`)].join(' ') || '(no change)';
  out.push(`What if: ${what}`);
  for (const p of w.problems) out.push(`problem: ${p}`);
  out.push(`${w.pods} pods, ${w.pairs} pod pairs × ports compared (${w.traced} traces per side through the datapath), ${w.changes.length} change${w.changes.length === 1 ? '' : 's'}; the cluster is unchanged`);
  if (!w.changes.length) return out.join('\n') + '\n';
  out.push('');
  const rows: string[][] = [['DIFF-TYPE', 'SOURCE', 'DESTINATION', 'PORT', 'BEFORE', 'AFTER', 'DECIDED BY']];
  for (const c of w.changes) rows.push([c.diff, c.source, c.destination, `${c.port}/${c.protocol}`, c.before, c.after, c.reason]);
  out.push(tabwrite(rows).trimEnd());
  return out.join('\n') + '\n';
}

export type { TraceResult };
