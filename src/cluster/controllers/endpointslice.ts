// Service → EndpointSlices: the addresses of the pods a Service selects, with
// named target ports resolved against each pod's container ports (pods that
// resolve a name differently get a slice of their own, as in Kubernetes). A
// selector that matches nothing still gets one empty slice. Services without a
// selector are left alone: their slices belong to whoever wrote them.

import type { StoreEvent } from '../../k8s/store.js';
import type { KubeObject } from '../../k8s/types.js';
import type { Pod, Service } from '../../k8s/validation/core.js';
import { jsonEqual } from '../../k8s/json.js';
import { selectorFromMap } from '../../k8s/selectors.js';
import {
  R,
  QueuedController,
  isPodReady,
  isTerminating,
  keyOf,
  now3339,
  ownerRef,
  podNodeName,
  podPhase,
  splitKey,
  written,
} from './common.js';

const COMPONENT = 'endpointslice-controller';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
/** kube-controller-manager's --max-endpoints-per-slice default (the API allows 1000). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
}

interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

/** A Service's pod selector, parsed once per (frozen) Service object; undefined when it selects nothing by label. */
const selectors = new WeakMap<KubeObject, ReturnType<typeof selectorFromMap> | null>();
function selectorOf(svc: KubeObject): ReturnType<typeof selectorFromMap> | undefined {
  let sel = selectors.get(svc);
  if (sel === undefined) selectors.set(svc, (sel = hasSelector(svc) ? selectorFromMap((svc as unknown as Service).spec?.selector) : null));
  return sel ?? undefined;
}

function hasSelector(svc: KubeObject): boolean {
  const spec = (svc as unknown as Service).spec;
  return spec?.type !== 'ExternalName' && !!spec?.selector && Object.keys(spec.selector).length > 0;
}

export class EndpointSliceController extends QueuedController {
  readonly name = COMPONENT;

  observe(e: StoreEvent): void {
    if (e.resource === R.services) this.queue.add(keyOf(e.object));
    else if (e.resource === R.endpointSlices) {
      const svc = e.object.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc && e.object.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) this.queue.add(`${e.object.metadata.namespace}/${svc}`);
    } else if (e.resource === R.pods) {
      const ns = e.object.metadata.namespace;
      for (const svc of this.ctx.cache.list(R.services, ns)) {
        const sel = selectorOf(svc);
        if (!sel) continue;
        if (sel.matches(e.object.metadata.labels) || (e.previous && sel.matches(e.previous.metadata.labels))) this.queue.add(keyOf(svc));
      }
    }
  }

  protected sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const svcObj = this.ctx.cache.get(R.services, namespace, name);
    const existing = this.ctx.cache
      .list(R.endpointSlices, namespace)
      .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY);
    if (!svcObj || !hasSelector(svcObj) || isTerminating(svcObj)) {
      for (const s of existing) this.ctx.api.delete(R.endpointSlices, namespace, s.metadata.name ?? '');
      return;
    }
    const svc = svcObj as unknown as Service & KubeObject;
    const selector = selectorFromMap(svc.spec?.selector);
    const pods = this.ctx.cache
      .list(R.pods, namespace)
      .filter((p) => selector.matches(p.metadata.labels) && podIpOf(p) && podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed')
      .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));

    const groups = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
    for (const pod of pods) {
      const ports = resolvePorts(svc, pod);
      const gk = JSON.stringify(ports);
      let g = groups.get(gk);
      if (!g) groups.set(gk, (g = { ports, endpoints: [] }));
      const ready = isPodReady(pod) && !isTerminating(pod);
      const ep: SliceEndpoint = {
        addresses: [podIpOf(pod)],
        conditions: { ready, serving: isPodReady(pod), terminating: isTerminating(pod) },
        targetRef: { kind: 'Pod', namespace: namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
      };
      if (podNodeName(pod)) ep.nodeName = podNodeName(pod);
      g.endpoints.push(ep);
    }
    // Each group in slices of at most MAX_ENDPOINTS_PER_SLICE endpoints, in pod-name order.
    const desired: { ports: SlicePort[]; endpoints: SliceEndpoint[] }[] = [];
    for (const g of groups.values()) {
      for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) desired.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
    }
    if (!desired.length) desired.push({ ports: [], endpoints: [] });

    const labels = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
    desired.forEach((want, i) => {
      const content: Record<string, unknown> = { addressType: 'IPv4', endpoints: want.endpoints, ports: want.ports };
      const have = existing[i];
      if (have) {
        const same =
          jsonEqual(have['endpoints'] ?? [], want.endpoints) && jsonEqual(have['ports'] ?? [], want.ports) && jsonEqual(have.metadata.labels ?? {}, labels);
        if (same) return;
        const body = { ...have, ...content };
        body.metadata = { ...body.metadata, labels, annotations: { ...(body.metadata.annotations ?? {}), 'endpoints.kubernetes.io/last-change-trigger-time': now3339(this.ctx.clock) } };
        written(this.ctx, COMPONENT, `update endpointslice ${keyOf(have)}`, this.ctx.api.update(R.endpointSlices, namespace, have.metadata.name ?? '', body));
        return;
      }
      const body: KubeObject = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          generateName: `${name}-`,
          namespace: namespace ?? 'default',
          labels,
          annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': now3339(this.ctx.clock) },
          ownerReferences: [ownerRef(svcObj)],
        },
        ...content,
      };
      written(this.ctx, COMPONENT, `create endpointslice for ${key}`, this.ctx.api.create(R.endpointSlices, namespace, body));
    });
    for (const extra of existing.slice(desired.length)) this.ctx.api.delete(R.endpointSlices, namespace, extra.metadata.name ?? '');
  }
}

export function podIpOf(pod: KubeObject): string {
  return (pod['status'] as { podIP?: string } | undefined)?.podIP ?? '';
}

/** The service's ports as this pod serves them (a named targetPort the pod does not declare is left out). */
export function resolvePorts(svc: Service, pod: KubeObject): SlicePort[] {
  const containers = (pod as unknown as Pod).spec?.containers ?? [];
  const out: SlicePort[] = [];
  for (const p of svc.spec?.ports ?? []) {
    const protocol = p.protocol ?? 'TCP';
    let port: number | undefined;
    if (typeof p.targetPort === 'number') port = p.targetPort;
    else if (typeof p.targetPort === 'string' && p.targetPort !== '') {
      for (const c of containers) {
        const named = (c.ports ?? []).find((cp) => cp.name === p.targetPort && (cp.protocol ?? 'TCP') === protocol);
        if (named?.containerPort) port = named.containerPort;
      }
    } else port = p.port;
    if (port !== undefined) out.push({ name: p.name ?? '', port, protocol });
  }
  return out;
}
