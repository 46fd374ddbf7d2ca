// The informer cache: every object of every kind, kept current from the
// store's watch feed the moment a write commits. Controllers, agents and the
// kubelet read it instead of querying SQLite (a list of 10,000 pods would
// parse 10,000 JSON bodies). Objects are the store's frozen event objects:
// clone before editing.

import { RESOURCES, storageKey, type ResourceInfo } from '../../k8s/resources.js';
import type { Store, StoreEvent } from '../../k8s/store.js';
import { deepFreeze } from '../../k8s/json.js';
import type { KubeObject } from '../../k8s/types.js';

function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class ObjectCache {
  private readonly kinds = new Map<string, Map<string, KubeObject>>();
  /** pods by spec.nodeName ('' = unscheduled): the kubelet's and scheduler's view. */
  private readonly podsByNode = new Map<string, Map<string, KubeObject>>();

  constructor(store: Store) {
    for (const r of RESOURCES) {
      const m = new Map<string, KubeObject>();
      this.kinds.set(storageKey(r), m);
      // The store's own frozen objects: shared, not copied.
      for (const obj of store.snapshot(r)) this.put(r, deepFreeze(obj));
    }
  }

  /** Apply a committed change (called from the store listener, before anyone reacts to it). */
  apply(e: StoreEvent): void {
    if (e.type === 'DELETED') this.remove(e.resource, e.object);
    else this.put(e.resource, e.object, e.previous);
  }

  get(resource: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.kinds.get(storageKey(resource))?.get(objectKey(resource.namespaced ? namespace : undefined, name));
  }

  /** Every object of a kind, optionally in one namespace (map order: creation order). */
  list(resource: ResourceInfo, namespace?: string): KubeObject[] {
    const all = this.kinds.get(storageKey(resource));
    if (!all) return [];
    const out: KubeObject[] = [];
    for (const o of all.values()) if (!namespace || o.metadata.namespace === namespace) out.push(o);
    return out;
  }

  count(resource: ResourceInfo): number {
    return this.kinds.get(storageKey(resource))?.size ?? 0;
  }

  /** Pods bound to a node ('' for pods the scheduler has not placed yet). */
  podsOnNode(node: string): KubeObject[] {
    return [...(this.podsByNode.get(node)?.values() ?? [])];
  }

  private put(resource: ResourceInfo, obj: KubeObject, previous?: KubeObject): void {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name ?? '');
    this.kinds.get(storageKey(resource))!.set(key, obj);
    if (resource.kind === 'Pod') {
      if (previous) this.podsByNode.get(nodeOf(previous))?.delete(key);
      let m = this.podsByNode.get(nodeOf(obj));
      if (!m) this.podsByNode.set(nodeOf(obj), (m = new Map()));
      m.set(key, obj);
    }
  }

  private remove(resource: ResourceInfo, obj: KubeObject): void {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name ?? '');
    this.kinds.get(storageKey(resource))!.delete(key);
    if (resource.kind === 'Pod') this.podsByNode.get(nodeOf(obj))?.delete(key);
  }
}

function nodeOf(pod: KubeObject): string {
  return (pod['spec'] as { nodeName?: string } | undefined)?.nodeName ?? '';
}
