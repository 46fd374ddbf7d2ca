// Deployment → ReplicaSet: one ReplicaSet per pod template, named
// `<deployment>-<pod-template-hash>`. A new template gets a new ReplicaSet
// scaled to the desired count while older ones go to zero (a rollout in one
// step; the pods are swapped as soon as the next settle runs). Status is
// summed from the ReplicaSets, as `kubectl get deploy` shows it.

import type { StoreEvent } from '../../k8s/store.js';
import type { KubeObject } from '../../k8s/types.js';
import type { Deployment, ReplicaSet } from '../../k8s/validation/apps.js';
import { jsonEqual } from '../../k8s/json.js';
import {
  R,
  QueuedController,
  controllerOf,
  keyOf,
  mergeConditions,
  now3339,
  ownerRef,
  splitKey,
  thaw,
  written,
  type Condition,
} from './common.js';
import { podTemplateHash } from './hash.js';

const COMPONENT = 'deployment-controller';
const REVISION = 'deployment.kubernetes.io/revision';

export class DeploymentController extends QueuedController {
  readonly name = COMPONENT;

  observe(e: StoreEvent): void {
    if (e.resource === R.deployments) this.queue.add(keyOf(e.object));
    else if (e.resource === R.replicaSets) {
      this.queueController(e.object, 'Deployment');
    }
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const obj = this.ctx.cache.get(R.deployments, namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const d = obj as unknown as Deployment & KubeObject;
    const spec = d.spec ?? {};
    const desired = spec.replicas ?? 1;
    const hash = podTemplateHash(spec.template, d.status?.collisionCount ?? 0);
    const owned = this.ctx.cache
      .list(R.replicaSets, namespace)
      .filter((rs) => controllerOf(rs)?.uid === d.metadata.uid) as unknown as (ReplicaSet & KubeObject)[];
    const maxRevision = owned.reduce((m, rs) => Math.max(m, Number(rs.metadata.annotations?.[REVISION] ?? 0)), 0);
    let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);

    if (!current) {
      const template = thaw(spec.template ?? {});
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } };
      const selector = thaw(spec.selector ?? {});
      selector.matchLabels = { ...(selector.matchLabels ?? {}), 'pod-template-hash': hash };
      const body = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${name}-${hash}`,
          namespace,
          labels: { ...(template.metadata.labels ?? {}) },
          annotations: {
            'deployment.kubernetes.io/desired-replicas': String(desired),
            'deployment.kubernetes.io/max-replicas': String(desired + 1),
            [REVISION]: String(maxRevision + 1),
          },
          ownerReferences: [ownerRef(obj)],
        },
        spec: { replicas: desired, minReadySeconds: spec.minReadySeconds ?? 0, selector, template },
      };
      const made = written(this.ctx, COMPONENT, `create replicaset ${namespace}/${name}-${hash}`, this.ctx.api.create(R.replicaSets, namespace, body));
      if (!made) return;
      current = made as unknown as ReplicaSet & KubeObject;
    } else if (current.spec?.replicas !== desired) {
      this.scale(current, desired);
    }
    for (const rs of owned) if (rs !== current && (rs.spec?.replicas ?? 0) !== 0) this.scale(rs, 0);
    this.updateStatus(d, owned.filter((rs) => rs !== current).concat(current), current);
  }

  private scale(rs: ReplicaSet & KubeObject, replicas: number): void {
    const body = { ...rs };
    body.spec = { ...(body.spec ?? {}), replicas };
    body.metadata = { ...body.metadata, annotations: { ...(body.metadata?.annotations ?? {}), 'deployment.kubernetes.io/desired-replicas': String(replicas) } };
    written(this.ctx, COMPONENT, `scale replicaset ${keyOf(rs)}`, this.ctx.api.update(R.replicaSets, rs.metadata.namespace, rs.metadata.name ?? '', body));
  }

  private updateStatus(d: Deployment & KubeObject, all: (ReplicaSet & KubeObject)[], current: ReplicaSet & KubeObject): void {
    const sum = (f: (rs: ReplicaSet) => number | undefined): number => all.reduce((n, rs) => n + (f(rs) ?? 0), 0);
    const replicas = sum((rs) => rs.status?.replicas);
    const ready = sum((rs) => rs.status?.readyReplicas);
    const available = sum((rs) => rs.status?.availableReplicas);
    const updated = current.status?.replicas ?? 0;
    const desired = d.spec?.replicas ?? 1;
    const now = now3339(this.ctx.clock);
    const availableOk = available >= desired - maxUnavailable(d, desired);
    const progressingDone = updated === desired && replicas === desired && available === desired;
    const conditions: Condition[] = mergeConditions(d.status?.conditions as Condition[] | undefined, [
      {
        type: 'Available',
        status: availableOk ? 'True' : 'False',
        reason: availableOk ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        message: availableOk ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
        lastUpdateTime: now,
        lastTransitionTime: now,
      },
      {
        type: 'Progressing',
        status: 'True',
        reason: progressingDone ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        message: progressingDone
          ? `ReplicaSet "${current.metadata.name}" has successfully progressed.`
          : `ReplicaSet "${current.metadata.name}" is progressing.`,
        lastUpdateTime: now,
        lastTransitionTime: now,
      },
    ]);
    const status: Record<string, unknown> = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      conditions,
    };
    if (ready === 0) delete status['readyReplicas'];
    if (available === 0) delete status['availableReplicas'];
    if (replicas - available > 0) status['unavailableReplicas'] = replicas - available;
    if (sameIgnoringTimes(d.status, status)) return;
    written(
      this.ctx,
      COMPONENT,
      `status of deployment ${keyOf(d)}`,
      this.ctx.api.update(R.deployments, d.metadata.namespace, d.metadata.name ?? '', { ...d, status }, { subresource: 'status' }),
    );
  }
}

function maxUnavailable(d: Deployment, desired: number): number {
  const v = d.spec?.strategy?.rollingUpdate?.maxUnavailable;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.endsWith('%')) return Math.floor((desired * Number(v.slice(0, -1))) / 100);
  return 0;
}

/** Status equal but for condition timestamps (which would make every pass a write). */
export function sameIgnoringTimes(a: unknown, b: unknown): boolean {
  const strip = (v: unknown): unknown => {
    if (!v || typeof v !== 'object') return v;
    const o = structuredClone(v) as Record<string, unknown>;
    const conds = o['conditions'];
    if (Array.isArray(conds)) {
      o['conditions'] = conds.map((c: Record<string, unknown>) => {
        const { lastUpdateTime: _u, lastTransitionTime: _t, lastHeartbeatTime: _h, lastProbeTime: _p, ...rest } = c;
        return rest;
      });
    }
    return o;
  };
  return jsonEqual(strip(a), strip(b));
}
