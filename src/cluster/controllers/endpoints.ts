// Service → Endpoints (v1), as kube-controller-manager's endpoints controller
// keeps them beside the EndpointSlices: one object named after each Service
// with a selector, its pods' IPs as `addresses` when ready and
// `notReadyAddresses` otherwise, grouped into subsets by the ports they
// resolve to, addresses in IP order. Services without a selector keep
// whatever Endpoints their owner wrote (the apiserver's own `kubernetes`).

import type { StoreEvent } from '../../k8s/store.js';
import type { KubeObject } from '../../k8s/types.js';
import type { Service } from '../../k8s/validation/core.js';
import { jsonEqual } from '../../k8s/json.js';
import { selectorFromMap } from '../../k8s/selectors.js';
import { R, QueuedController, isPodReady, isTerminating, keyOf, now3339, podNodeName, podPhase, splitKey, written } from './common.js';
import { podIpOf, resolvePorts, type SlicePort } from './endpointslice.js';

const COMPONENT = 'endpoints-controller';
/** Tells the EndpointSlice mirroring controller these Endpoints already have slices of their own. */
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

interface Address {
  ip: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

interface Subset {
  addresses?: Address[];
  notReadyAddresses?: Address[];
  ports?: { name?: string; port: number; protocol: string }[];
}

function selects(svc: KubeObject): boolean {
  const spec = (svc as unknown as Service).spec;
  return spec?.type !== 'ExternalName' && !!spec?.selector && Object.keys(spec.selector).length > 0;
}

/** An Endpoints port leaves out an empty name (the slice's port always has one). */
const endpointPort = (p: SlicePort): { name?: string; port: number; protocol: string } => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol });

/** IP order as Go compares the strings (byte by byte). */
const byIp = (a: Address, b: Address): number => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.targetRef.uid < b.targetRef.uid ? -1 : 1);

export class EndpointsController extends QueuedController {
  readonly name = COMPONENT;

  observe(e: StoreEvent): void {
    if (e.resource === R.services || e.resource === R.endpoints) this.queue.add(keyOf(e.object));
    else if (e.resource === R.pods) {
      for (const svc of this.ctx.cache.list(R.services, e.object.metadata.namespace)) {
        if (!selects(svc)) continue;
        const sel = selectorFromMap((svc as unknown as Service).spec?.selector);
        if (sel.matches(e.object.metadata.labels) || (e.previous && sel.matches(e.previous.metadata.labels))) this.queue.add(keyOf(svc));
      }
    }
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const svcObj = this.ctx.cache.get(R.services, namespace, name);
    const existing = this.ctx.cache.get(R.endpoints, namespace, name);
    if (!svcObj || isTerminating(svcObj)) {
      if (existing) this.ctx.api.delete(R.endpoints, namespace, name);
      return;
    }
    if (!selects(svcObj)) return;
    const svc = svcObj as unknown as Service & KubeObject;
    const selector = selectorFromMap(svc.spec?.selector);
    const groups = new Map<string, Subset>();
    for (const pod of this.ctx.cache.list(R.pods, namespace)) {
      if (!selector.matches(pod.metadata.labels) || !podIpOf(pod) || isTerminating(pod)) continue;
      if (podPhase(pod) === 'Succeeded' || podPhase(pod) === 'Failed') continue;
      const ports = resolvePorts(svc, pod);
      const gk = JSON.stringify(ports);
      let g = groups.get(gk);
      if (!g) groups.set(gk, (g = ports.length ? { ports: ports.map(endpointPort) } : {}));
      const address: Address = { ip: podIpOf(pod), targetRef: { kind: 'Pod', namespace: namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' } };
      if (podNodeName(pod)) address.nodeName = podNodeName(pod);
      const list = isPodReady(pod) ? (g.addresses ??= []) : (g.notReadyAddresses ??= []);
      list.push(address);
    }
    const subsets: Subset[] = [...groups.values()].map((g) => ({
      ...(g.addresses ? { addresses: g.addresses.sort(byIp) } : {}),
      ...(g.notReadyAddresses ? { notReadyAddresses: g.notReadyAddresses.sort(byIp) } : {}),
      ...(g.ports ? { ports: g.ports } : {}),
    }));
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), [SKIP_MIRROR_LABEL]: 'true' };
    if (svc.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    const content = subsets.length ? { subsets } : {};
    if (existing) {
      if (jsonEqual(existing['subsets'] ?? [], subsets) && jsonEqual(existing.metadata.labels ?? {}, labels)) return;
      const { subsets: _old, ...rest } = existing;
      void _old;
      const body: KubeObject = {
        ...rest,
        ...content,
        metadata: { ...existing.metadata, labels, annotations: { ...(existing.metadata.annotations ?? {}), [TRIGGER_TIME]: now3339(this.ctx.clock) } },
      };
      written(this.ctx, COMPONENT, `update endpoints ${key}`, this.ctx.api.update(R.endpoints, namespace, name, body));
      return;
    }
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: namespace ?? 'default', labels, annotations: { [TRIGGER_TIME]: now3339(this.ctx.clock) } },
      ...content,
    };
    written(this.ctx, COMPONENT, `create endpoints ${key}`, this.ctx.api.create(R.endpoints, namespace, body));
  }
}
