// DaemonSet → one pod per eligible node, named `<daemonset>-<5 characters>`.
// As in Kubernetes since 1.12 the pods are bound through required node
// affinity on `metadata.name` (the scheduler places them), and carry the
// tolerations the DaemonSet controller adds so they run on not-ready or
// unschedulable nodes.

import type { StoreEvent } from '../../k8s/store.js';
import type { KubeObject } from '../../k8s/types.js';
import type { DaemonSet } from '../../k8s/validation/apps.js';
import type { Pod } from '../../k8s/validation/core.js';
import {
  R,
  QueuedController,
  controllerOf,
  isPodReady,
  isTerminating,
  keyOf,
  ownerRef,
  podNodeName,
  splitKey,
  thaw,
  written,
} from './common.js';
import { sameIgnoringTimes } from './deployment.js';
import { controllerRevisionHash } from './hash.js';
import { unfitReason } from './scheduler.js';

const COMPONENT = 'daemonset-controller';

const DAEMON_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** The node a daemon pod is pinned to (its nodeName, or the metadata.name affinity the controller wrote). */
export function daemonPodNode(pod: KubeObject): string {
  const bound = podNodeName(pod);
  if (bound) return bound;
  const spec = (pod as unknown as Pod).spec;
  const terms = (spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { key?: string; values?: string[] }[] }[] } } } | undefined)
    ?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return terms?.[0]?.matchFields?.find((f) => f.key === 'metadata.name')?.values?.[0] ?? '';
}

export class DaemonSetController extends QueuedController {
  readonly name = COMPONENT;

  observe(e: StoreEvent): void {
    if (e.resource === R.daemonSets) this.queue.add(keyOf(e.object));
    else if (e.resource === R.pods) {
      this.queueController(e.object, 'DaemonSet');
    } else if (e.resource === R.nodes) {
      for (const ds of this.ctx.cache.list(R.daemonSets)) this.queue.add(keyOf(ds));
    }
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const obj = this.ctx.cache.get(R.daemonSets, namespace, name);
    if (!obj || isTerminating(obj)) return;
    const ds = obj as unknown as DaemonSet & KubeObject;
    const template = thaw(ds.spec?.template ?? {});
    const hash = controllerRevisionHash(template);
    const tolerations = [...(template.spec?.tolerations ?? [])];
    for (const t of DAEMON_TOLERATIONS) if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push(t);
    if (template.spec?.hostNetwork) tolerations.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
    const podSpec = { ...(template.spec ?? {}), tolerations };

    const nodes = this.ctx.cache.list(R.nodes).filter((n) => !unfitReason(podSpec, n));
    const wanted = new Set(nodes.map((n) => n.metadata.name ?? ''));
    const pods = this.ctx.cache.list(R.pods, namespace).filter((p) => controllerOf(p)?.uid === ds.metadata.uid && !isTerminating(p));
    const byNode = new Map<string, KubeObject[]>();
    for (const p of pods) {
      const node = daemonPodNode(p);
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    // Extra pods: on nodes that no longer qualify, duplicates, or from an older template (rolled in one step).
    for (const [node, list] of byNode) {
      const keep = wanted.has(node) ? list.find((p) => p.metadata.labels?.['controller-revision-hash'] === hash) : undefined;
      for (const p of list) if (p !== keep) this.ctx.api.delete(R.pods, namespace, p.metadata.name ?? '');
      if (keep) byNode.set(node, [keep]);
      else byNode.delete(node);
    }
    for (const node of nodes) {
      const nodeName = node.metadata.name ?? '';
      if (byNode.has(nodeName)) continue;
      const body: KubeObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          generateName: `${name}-`,
          namespace: namespace ?? 'default',
          labels: { ...(template.metadata?.labels ?? {}), 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
          ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
          ownerReferences: [ownerRef(obj)],
        },
        spec: {
          ...podSpec,
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
              },
            },
          },
        },
      };
      const made = written(this.ctx, COMPONENT, `create daemon pod of ${key} on ${nodeName}`, this.ctx.api.create(R.pods, namespace, body));
      if (made) byNode.set(nodeName, [made]);
    }
    const current = [...byNode.values()].flat();
    const scheduled = current.filter((p) => podNodeName(p)).length;
    const ready = current.filter(isPodReady).length;
    const status: Record<string, unknown> = {
      currentNumberScheduled: scheduled,
      desiredNumberScheduled: nodes.length,
      numberMisscheduled: 0,
      numberReady: ready,
      observedGeneration: ds.metadata.generation ?? 1,
      updatedNumberScheduled: scheduled,
    };
    if (ready) status['numberAvailable'] = ready;
    if (nodes.length - ready > 0) status['numberUnavailable'] = nodes.length - ready;
    if (sameIgnoringTimes(ds.status, status)) return;
    written(
      this.ctx,
      COMPONENT,
      `status of daemonset ${key}`,
      this.ctx.api.update(R.daemonSets, namespace, name, { ...ds, status }, { subresource: 'status' }),
    );
  }
}
