// What every reconciler shares: the resource handles, the context it runs in
// (apiserver, informer cache, clock, seeded randomness) and small helpers for
// owner references, conditions and writes that report instead of throwing.

import type { ObjectWriter } from '../../k8s/apiserver.js';
import { clone } from '../../k8s/json.js';
import { lookupResource, type ResourceInfo } from '../../k8s/resources.js';
import { rfc3339Seconds, type StoreEvent } from '../../k8s/store.js';
import type { ApiResult, KubeObject } from '../../k8s/types.js';
import type { OwnerReference } from '../../k8s/validation/meta.js';
import type { Clock } from '../../util/clock.js';
import type { Rng } from '../../util/rng.js';
import type { ObjectCache } from './cache.js';

function resource(name: string): ResourceInfo {
  const r = lookupResource(name);
  if (!r) throw new Error(`unknown resource ${name}`);
  return r;
}

/** Handles for the kinds the cluster layer reads and writes. */
export const R = {
  namespaces: resource('namespaces'),
  nodes: resource('nodes'),
  pods: resource('pods'),
  services: resource('services'),
  endpointSlices: resource('endpointslices.discovery.k8s.io'),
  endpoints: resource('endpoints'),
  configMaps: resource('configmaps'),
  serviceAccounts: resource('serviceaccounts'),
  deployments: resource('deployments.apps'),
  replicaSets: resource('replicasets.apps'),
  daemonSets: resource('daemonsets.apps'),
  ciliumEndpoints: resource('ciliumendpoints.cilium.io'),
  ciliumIdentities: resource('ciliumidentities.cilium.io'),
  ciliumNodes: resource('ciliumnodes.cilium.io'),
} as const;

/**
 * A controller, agent or kubelet as the runtime drives it: `observe` sees
 * every committed change (and only records what to do: it must not write),
 * `run` does the recorded work and may write, which produces more changes.
 * The runtime alternates the two until no one has work left.
 */
export interface Reconciler {
  readonly name: string;
  /**
   * Routing hints for the runtime's fan-out (each change would otherwise
   * reach every reconciler): only these kinds reach observe() (default: all).
   */
  readonly watches?: readonly ResourceInfo[];
  /** Pod changes reach observe() only for pods bound to this node before or after the change. */
  readonly podsOfNode?: string;
  observe(e: StoreEvent): void;
  hasWork(): boolean;
  run(): void;
}

/** A set of keys to reconcile, drained in insertion order. */
export class WorkQueue {
  private keys = new Set<string>();
  add(key: string): void {
    this.keys.add(key);
  }
  get size(): number {
    return this.keys.size;
  }
  /** Take everything queued so far (keys added while processing wait for the next drain). */
  drain(): string[] {
    const out = [...this.keys];
    this.keys.clear();
    return out;
  }
}

/**
 * A controller that only records keys in observe() and reconciles each
 * queued key once per run(), as kube-controller-manager's workers do.
 */
export abstract class QueuedController implements Reconciler {
  abstract readonly name: string;
  protected readonly queue = new WorkQueue();

  constructor(protected readonly ctx: ControllerContext) {}

  abstract observe(e: StoreEvent): void;
  protected abstract sync(key: string): void;

  /** Queue `obj`'s controlling owner when it is a `kind` (a ReplicaSet's Deployment, a pod's DaemonSet). */
  protected queueController(obj: KubeObject, kind: string): void {
    const owner = controllerOf(obj);
    if (owner?.kind === kind) this.queue.add(`${obj.metadata.namespace}/${owner.name}`);
  }

  hasWork(): boolean {
    return this.queue.size > 0;
  }

  run(): void {
    for (const key of this.queue.drain()) this.sync(key);
  }
}

export interface ControllerContext {
  /** The apiserver's trusted view (validation/trusted.ts): bodies may share frozen parts of cached objects. */
  api: ObjectWriter;
  cache: ObjectCache;
  clock: Clock;
  rng: Rng;
  /** Problems that are not the caller's fault (a write the apiserver refused); kept for status pages and tests. */
  report(component: string, message: string): void;
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '');
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The controlling owner of an object, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

export function ownerRef(owner: KubeObject, blockOwnerDeletion = true): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion,
  };
}

export function now3339(clock: Clock): string {
  return rfc3339Seconds(clock.wallNow());
}

/** A plain, editable copy of a cached (frozen) object. */
export function thaw<T>(obj: T): T {
  return clone(obj);
}

/** Unwrap an ApiResult; on failure report it and return undefined. NotFound and Conflict are routine and not reported. */
export function written(ctx: ControllerContext, component: string, what: string, r: ApiResult<KubeObject>): KubeObject | undefined {
  if (r.ok) return r.obj;
  if (r.status.code !== 404 && r.status.code !== 409) ctx.report(component, `${what}: ${r.status.message}`);
  return undefined;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
  lastUpdateTime?: string;
}

/** Keep lastTransitionTime from the previous condition of the same type when the status did not change. */
export function mergeConditions(previous: Condition[] | undefined, next: Condition[]): Condition[] {
  return next.map((c) => {
    const old = (previous ?? []).find((p) => p.type === c.type);
    if (old && old.status === c.status && old.lastTransitionTime) return { ...c, lastTransitionTime: old.lastTransitionTime };
    return c;
  });
}

export function isPodReady(pod: KubeObject): boolean {
  const status = pod['status'] as { conditions?: Condition[] } | undefined;
  return (status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function podPhase(pod: KubeObject): string {
  return ((pod['status'] as { phase?: string } | undefined)?.phase ?? 'Pending');
}

export function podNodeName(pod: KubeObject): string {
  return ((pod['spec'] as { nodeName?: string } | undefined)?.nodeName ?? '');
}

export function isTerminating(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined;
}
