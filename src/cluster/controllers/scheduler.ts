// The scheduler: binds every pending pod to a node. Filters as kube-scheduler
// does (node ready and schedulable, taints tolerated, nodeSelector and
// required node affinity), then scores like its default topology spreading:
// fewest pods of the same owner, then fewest pods of the same namespace, then
// workers before the control plane, then node order. Pending pods are placed
// in name order, so `kubectl get pods -l app=x` lists them across the nodes in
// a predictable way (the lab's first frontend lands on the first worker).

import type { StoreEvent } from '../../k8s/store.js';
import type { KubeObject } from '../../k8s/types.js';
import type { Node, Pod } from '../../k8s/validation/core.js';
import { selectorFromMap } from '../../k8s/selectors.js';
import { isPlainObject } from '../../k8s/json.js';
import {
  R,
  WorkQueue,
  controllerOf,
  isTerminating,
  keyOf,
  mergeConditions,
  now3339,
  podNodeName,
  podPhase,
  splitKey,
  thaw,
  written,
  type Condition,
  type ControllerContext,
  type Reconciler,
} from './common.js';

const COMPONENT = 'default-scheduler';

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

interface Taint {
  key?: string;
  value?: string;
  effect?: string;
}

export function tolerates(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchExpression(expr: Record<string, unknown>, value: string | undefined): boolean {
  const op = expr['operator'];
  const values = Array.isArray(expr['values']) ? (expr['values'] as string[]) : [];
  switch (op) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

/** requiredDuringSchedulingIgnoredDuringExecution: any term whose expressions and fields all match. */
function affinityAllows(affinity: unknown, node: KubeObject): boolean {
  if (!isPlainObject(affinity)) return true;
  const na = affinity['nodeAffinity'];
  if (!isPlainObject(na)) return true;
  const req = na['requiredDuringSchedulingIgnoredDuringExecution'];
  if (!isPlainObject(req) || !Array.isArray(req['nodeSelectorTerms'])) return true;
  const labels = node.metadata.labels ?? {};
  return (req['nodeSelectorTerms'] as unknown[]).some((term) => {
    if (!isPlainObject(term)) return false;
    const exprs = Array.isArray(term['matchExpressions']) ? term['matchExpressions'].filter(isPlainObject) : [];
    const fields = Array.isArray(term['matchFields']) ? term['matchFields'].filter(isPlainObject) : [];
    if (!exprs.length && !fields.length) return false;
    return (
      exprs.every((e) => matchExpression(e, labels[String(e['key'])])) &&
      fields.every((f) => matchExpression(f, f['key'] === 'metadata.name' ? node.metadata.name : undefined))
    );
  });
}

export function nodeIsReady(node: KubeObject): boolean {
  const n = node as unknown as Node;
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Why a pod cannot run on a node, or undefined when it can (taints with NoSchedule/NoExecute must be tolerated). */
export function unfitReason(spec: Pod['spec'], node: KubeObject): string | undefined {
  const n = node as unknown as Node;
  const tolerations = spec?.tolerations;
  if (!nodeIsReady(node) && !tolerates(tolerations, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' })) return 'node(s) were not ready';
  if (n.spec?.unschedulable && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return 'node(s) were unschedulable';
  for (const taint of n.spec?.taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerates(tolerations, taint)) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
  }
  if (spec?.nodeSelector && !selectorFromMap(spec.nodeSelector).matches(node.metadata.labels)) return "node(s) didn't match Pod's node affinity/selector";
  if (!affinityAllows(spec?.affinity, node)) return "node(s) didn't match Pod's node affinity/selector";
  return undefined;
}

interface NodeTally {
  byOwner: Map<string, number>;
  byNamespace: Map<string, number>;
  pods: number;
}

function count(t: NodeTally, pod: KubeObject): void {
  t.pods++;
  const owner = controllerOf(pod);
  if (owner?.kind === 'DaemonSet') return;
  if (owner?.uid) t.byOwner.set(owner.uid, (t.byOwner.get(owner.uid) ?? 0) + 1);
  const ns = pod.metadata.namespace ?? '';
  t.byNamespace.set(ns, (t.byNamespace.get(ns) ?? 0) + 1);
}

export class Scheduler implements Reconciler {
  readonly name = COMPONENT;
  private readonly pending = new WorkQueue();

  constructor(private readonly ctx: ControllerContext) {}

  observe(e: StoreEvent): void {
    if (e.resource === R.pods && e.type !== 'DELETED' && !podNodeName(e.object)) this.pending.add(keyOf(e.object));
    else if (e.resource === R.nodes || (e.resource === R.pods && e.type === 'DELETED')) {
      // Capacity or eligibility changed: retry everything still pending.
      for (const p of this.ctx.cache.podsOnNode('')) this.pending.add(keyOf(p));
    }
  }

  hasWork(): boolean {
    return this.pending.size > 0;
  }

  run(): void {
    const keys = this.pending.drain().sort();
    const nodes = this.ctx.cache.list(R.nodes);
    const tally = this.tally(nodes);
    // Pods of one template ask the same questions of the same nodes: answer each placement once per run.
    const fitness = new Map<string, (string | undefined)[]>();
    for (const key of keys) {
      const { namespace, name } = splitKey(key);
      const pod = this.ctx.cache.get(R.pods, namespace, name);
      if (!pod || podNodeName(pod) || isTerminating(pod)) continue;
      const spec = (pod as unknown as Pod).spec;
      if (spec?.schedulerName && spec.schedulerName !== COMPONENT) continue;
      const placement = JSON.stringify([spec?.tolerations, spec?.nodeSelector, spec?.affinity]);
      let unfit = fitness.get(placement);
      if (!unfit) fitness.set(placement, (unfit = nodes.map((node) => unfitReason(spec, node))));
      const reasons = new Map<string, number>();
      const fit: KubeObject[] = [];
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i]!;
        const why = unfit[i] ?? this.capacityReason(node, tally);
        if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
        else fit.push(node);
      }
      if (!fit.length) {
        this.markUnschedulable(pod, nodes.length, reasons);
        continue;
      }
      const best = this.pick(pod, fit, tally);
      if (this.bind(pod, best)) count(tally.get(best.metadata.name ?? '')!, pod);
    }
  }

  /** Pods per node by owner and namespace (daemon pods excluded from those: every node has them), and in all. */
  private tally(nodes: KubeObject[]): Map<string, NodeTally> {
    const out = new Map<string, NodeTally>();
    for (const node of nodes) {
      const t: NodeTally = { byOwner: new Map(), byNamespace: new Map(), pods: 0 };
      for (const p of this.ctx.cache.podsOnNode(node.metadata.name ?? '')) {
        const phase = podPhase(p);
        if (isTerminating(p) || phase === 'Succeeded' || phase === 'Failed') continue;
        count(t, p);
      }
      out.set(node.metadata.name ?? '', t);
    }
    return out;
  }

  /** NodeResourcesFit for the one resource that matters here: status.allocatable.pods (110 on kind). */
  private capacityReason(node: KubeObject, tally: Map<string, NodeTally>): string | undefined {
    const allocatable = Number((node as unknown as Node).status?.allocatable?.['pods'] ?? Infinity);
    return (tally.get(node.metadata.name ?? '')?.pods ?? 0) >= allocatable ? 'Too many pods' : undefined;
  }

  /** The lowest (same-owner pods, same-namespace pods, control plane, node order); ties keep the earlier node. */
  private pick(pod: KubeObject, nodes: KubeObject[], tally: Map<string, NodeTally>): KubeObject {
    const owner = controllerOf(pod)?.uid ?? '';
    const ns = pod.metadata.namespace ?? '';
    let best = nodes[0]!;
    let bestOwner = Infinity;
    let bestNs = Infinity;
    let bestCp = Infinity;
    for (const node of nodes) {
      const t = tally.get(node.metadata.name ?? '');
      const byOwner = owner ? (t?.byOwner.get(owner) ?? 0) : 0;
      if (byOwner > bestOwner) continue;
      const byNs = t?.byNamespace.get(ns) ?? 0;
      const cp = node.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? 1 : 0;
      if (byOwner === bestOwner && (byNs > bestNs || (byNs === bestNs && cp >= bestCp))) continue;
      best = node;
      bestOwner = byOwner;
      bestNs = byNs;
      bestCp = cp;
    }
    return best;
  }

  /** The binding: spec.nodeName (what POST pods/binding does). */
  private bind(pod: KubeObject, node: KubeObject): boolean {
    const body = { ...pod, spec: { ...(pod['spec'] as Record<string, unknown>), nodeName: node.metadata.name } };
    return !!written(this.ctx, COMPONENT, `bind ${keyOf(pod)} to ${node.metadata.name}`, this.ctx.api.update(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', body));
  }

  private markUnschedulable(pod: KubeObject, total: number, reasons: Map<string, number>): void {
    const detail = [...reasons].map(([why, n]) => `${n} ${why}`).sort().join(', ');
    const message = `0/${total} nodes are available: ${detail || 'no nodes available to schedule pods'}.`;
    const status = thaw((pod['status'] ?? {}) as Record<string, unknown>);
    const previous = status['conditions'] as Condition[] | undefined;
    const existing = previous?.find((c) => c.type === 'PodScheduled');
    if (existing?.status === 'False' && existing.message === message) return;
    status['conditions'] = mergeConditions(previous, [
      ...(previous ?? []).filter((c) => c.type !== 'PodScheduled'),
      { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: now3339(this.ctx.clock) },
    ]);
    status['phase'] = 'Pending';
    written(
      this.ctx,
      COMPONENT,
      `status of ${keyOf(pod)}`,
      this.ctx.api.update(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', { ...pod, status }, { subresource: 'status' }),
    );
  }
}
