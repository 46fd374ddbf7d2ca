// Which pod a command aimed at a workload attaches to (kubectl exec ds/cilium,
// deploy/NAME): kubectl's polymorphichelpers.AttachablePodForObject takes the
// most active pod (podutils.ActivePods, reversed); ties keep list order. The
// cluster uses the same choice to place the lab's demo where `ds/cilium` looks.

import type { KubeObject } from './types.js';

export interface OrderedPod extends KubeObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string; lastTransitionTime?: string }[]; containerStatuses?: { restartCount?: number }[] };
}

type Pod = OrderedPod;

function isReady(p: Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function readyTime(p: Pod): number {
  const c = (p.status?.conditions ?? []).find((x) => x.type === 'Ready' && x.status === 'True');
  return c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : 0;
}

function maxRestarts(p: Pod): number {
  return Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
}

/** `a` after `b`, with a zero time counting as the earliest. */
function afterOrZero(a: number, b: number): boolean {
  if (!a || !b) return !a;
  return a > b;
}

/** podutils.ActivePods: is `a` "less active" than `b`? */
function lessActive(a: Pod, b: Pod): boolean {
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  if (na !== nb && (!na || !nb)) return !na;
  const phase: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
  const pa = phase[a.status?.phase ?? ''] ?? 0;
  const pb = phase[b.status?.phase ?? ''] ?? 0;
  if (pa !== pb) return pa < pb;
  if (isReady(a) !== isReady(b)) return !isReady(a);
  if (isReady(a) && isReady(b) && readyTime(a) !== readyTime(b)) return afterOrZero(readyTime(a), readyTime(b));
  if (maxRestarts(a) !== maxRestarts(b)) return maxRestarts(a) > maxRestarts(b);
  const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ca !== cb) return afterOrZero(ca, cb);
  return false;
}

/** The pod kubectl would attach to: the most active one (sort.Reverse(ActivePods)); ties keep list order. */
export function pickPod(pods: readonly OrderedPod[]): OrderedPod | undefined {
  const sorted = pods.map((p, i) => ({ p, i }));
  sorted.sort((x, y) => (lessActive(y.p, x.p) ? -1 : lessActive(x.p, y.p) ? 1 : x.i - y.i));
  return sorted[0]?.p;
}

