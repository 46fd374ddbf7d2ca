// The cluster-wide identity allocator in CRD mode: an identity is a
// CiliumIdentity object named by its number, holding the security labels.
// Every agent asks the same allocator, so pods with the same labels share one
// identity on every node; numbers are picked at random from the free part of
// 256..65535, as Cilium's allocator does, so they look like Cilium's (12345,
// 40937). A restarted cluster reads the objects back and keeps its numbers.

import type { ObjectWriter } from '../k8s/apiserver.js';
import { lookupResource } from '../k8s/resources.js';
import type { StoreEvent } from '../k8s/store.js';
import type { KubeObject } from '../k8s/types.js';
import { MAX_CLUSTER_IDENTITY, MIN_CLUSTER_IDENTITY, RESERVED_LABELS } from '../datapath/identity.js';
import type { Rng } from '../util/rng.js';
import { fromSecurityLabelMap, labelsKey, toObjectLabels, toSecurityLabelMap } from './labels.js';

export const CILIUM_IDENTITIES = lookupResource('ciliumidentities.cilium.io')!;

export interface IdentityEntry {
  id: number;
  labels: string[];
}

export class IdentityAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<number, string[]>();

  constructor(
    private readonly api: ObjectWriter,
    private readonly rng: Rng,
    existing: readonly KubeObject[],
    private readonly report: (message: string) => void = () => {},
  ) {
    for (const obj of existing) this.learn(obj);
  }

  private learn(obj: KubeObject): void {
    const id = Number(obj.metadata.name);
    const map = obj['security-labels'];
    if (!Number.isInteger(id) || !map || typeof map !== 'object') return;
    const labels = fromSecurityLabelMap(map as Record<string, string>);
    this.byId.set(id, labels);
    this.byKey.set(labelsKey(labels), id);
  }

  private forget(obj: KubeObject): void {
    const id = Number(obj.metadata.name);
    const labels = this.byId.get(id);
    if (!labels) return;
    this.byId.delete(id);
    if (this.byKey.get(labelsKey(labels)) === id) this.byKey.delete(labelsKey(labels));
  }

  /** Keep up with CiliumIdentity objects written or deleted by anyone (kubectl delete ciliumidentity ...). */
  observe(e: StoreEvent): void {
    if (e.resource !== CILIUM_IDENTITIES) return;
    if (e.type === 'DELETED') this.forget(e.object);
    else this.learn(e.object);
  }

  /** The identity of a label set: the existing one, or a new CiliumIdentity. Undefined if none could be created. */
  allocate(labels: readonly string[]): number | undefined {
    const key = labelsKey(labels);
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    for (let attempt = 0; attempt < 64; attempt++) {
      const id = this.pickFree();
      if (id === undefined) break;
      const r = this.api.create(CILIUM_IDENTITIES, undefined, {
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumIdentity',
        metadata: { name: String(id), labels: toObjectLabels(labels) },
        'security-labels': toSecurityLabelMap(labels),
      });
      if (r.ok) {
        // The store event will say the same; learn now so the caller can use it at once.
        this.learn(r.obj);
        return id;
      }
      if (r.status.code !== 409) {
        this.report(`create CiliumIdentity ${id}: ${r.status.message}`);
        return undefined;
      }
    }
    this.report('identity allocation failed: no free identity in 256..65535');
    return undefined;
  }

  private pickFree(): number | undefined {
    const span = MAX_CLUSTER_IDENTITY - MIN_CLUSTER_IDENTITY + 1;
    if (this.byId.size >= span) return undefined;
    for (let i = 0; i < 32; i++) {
      const id = MIN_CLUSTER_IDENTITY + this.rng.below(span);
      if (!this.byId.has(id)) return id;
    }
    for (let id = MIN_CLUSTER_IDENTITY; id <= MAX_CLUSTER_IDENTITY; id++) if (!this.byId.has(id)) return id;
    return undefined;
  }

  /** Labels of an identity, reserved ones included. */
  labelsOf(id: number): string[] | undefined {
    return RESERVED_LABELS[id] ?? this.byId.get(id);
  }

  lookup(labels: readonly string[]): number | undefined {
    return this.byKey.get(labelsKey(labels));
  }

  /** What `cilium identity list` shows: reserved identities, then the cluster's, by number. */
  list(): IdentityEntry[] {
    const reserved = Object.entries(RESERVED_LABELS)
      .map(([id, labels]) => ({ id: Number(id), labels: [...labels] }))
      .filter((e) => e.id <= 8);
    const cluster = [...this.byId].map(([id, labels]) => ({ id, labels: [...labels] })).sort((a, b) => a.id - b.id);
    return [...reserved, ...cluster];
  }
}
