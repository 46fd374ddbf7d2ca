// ReplicaSet → Pods: create pods named `<replicaset>-<5 random characters>`
// (the store's seeded generateName) until the count matches; when scaling
// down, delete the pods Kubernetes would pick first (unscheduled, then not
// running, then not ready, then the youngest).

import type { StoreEvent } from '../../k8s/store.js';
import type { KubeObject } from '../../k8s/types.js';
import type { ReplicaSet } from '../../k8s/validation/apps.js';
import { selectorFromObject } from '../../k8s/selectors.js';
import {
  R,
  QueuedController,
  controllerOf,
  isPodReady,
  isTerminating,
  keyOf,
  ownerRef,
  podNodeName,
  podPhase,
  splitKey,
  written,
} from './common.js';
import { sameIgnoringTimes } from './deployment.js';

const COMPONENT = 'replicaset-controller';

export class ReplicaSetController extends QueuedController {
  readonly name = COMPONENT;

  observe(e: StoreEvent): void {
    if (e.resource === R.replicaSets) this.queue.add(keyOf(e.object));
    else if (e.resource === R.pods) {
      this.queueController(e.object, 'ReplicaSet');
    }
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const obj = this.ctx.cache.get(R.replicaSets, namespace, name);
    if (!obj || isTerminating(obj)) return;
    const rs = obj as unknown as ReplicaSet & KubeObject;
    const desired = rs.spec?.replicas ?? 1;
    const pods = this.ctx.cache.list(R.pods, namespace).filter((p) => controllerOf(p)?.uid === rs.metadata.uid && !isTerminating(p));
    if (pods.length < desired) {
      for (let i = pods.length; i < desired; i++) {
        const made = written(this.ctx, COMPONENT, `create pod for ${key}`, this.ctx.api.create(R.pods, namespace, this.podFor(rs)));
        if (!made) break;
        pods.push(made);
      }
    } else if (pods.length > desired) {
      const victims = [...pods].sort(deletionOrder).slice(0, pods.length - desired);
      for (const p of victims) {
        if (this.ctx.api.delete(R.pods, namespace, p.metadata.name ?? '').ok) pods.splice(pods.indexOf(p), 1);
      }
    }
    this.updateStatus(rs, pods);
  }

  private podFor(rs: ReplicaSet & KubeObject): KubeObject {
    // The trusted write copies the body: the cached template can go in as it is.
    const template = rs.spec?.template ?? {};
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace ?? 'default',
        ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}),
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [ownerRef(rs as KubeObject)],
      },
      spec: template.spec ?? {},
    };
  }

  private updateStatus(rs: ReplicaSet & KubeObject, pods: KubeObject[]): void {
    const selector = selectorFromObject(rs.spec?.selector);
    const ready = pods.filter(isPodReady).length;
    const status: Record<string, unknown> = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.filter((p) => selector.matches(p.metadata.labels)).length,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    if (ready) {
      status['readyReplicas'] = ready;
      status['availableReplicas'] = ready;
    }
    if (sameIgnoringTimes(rs.status, status)) return;
    written(
      this.ctx,
      COMPONENT,
      `status of replicaset ${keyOf(rs)}`,
      this.ctx.api.update(R.replicaSets, rs.metadata.namespace, rs.metadata.name ?? '', { ...rs, status }, { subresource: 'status' }),
    );
  }
}

/** Which pod goes first on scale-down (controller.ActivePods ordering, simplified). */
function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject): number[] => [
    podNodeName(p) ? 1 : 0,
    podPhase(p) === 'Running' ? 1 : 0,
    isPodReady(p) ? 1 : 0,
  ];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  // Younger first: later creation, then later name.
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? 1 : -1;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? 1 : -1;
}
