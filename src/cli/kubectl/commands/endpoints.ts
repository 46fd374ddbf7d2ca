// `kubectl get endpoints` (ep): podpath's apiserver serves EndpointSlices
// only, so v1 Endpoints are assembled here from the slices of each service
// (label kubernetes.io/service-name), and printed the way kubectl prints
// Endpoints: NAME, ENDPOINTS (ip:port, three at most then "+ N more..."), AGE.

import { lookupResource } from '../../../k8s/resources.js';
import { humanDuration } from '../../../k8s/tables.js';
import type { KubeList, KubeObject } from '../../../k8s/types.js';
import type { KubectlContext } from '../context.js';
import { KubectlError, usageError } from '../errors.js';
import { customColumnsText, listOf, newTableWriter, printObjectFormat, type OutputFormat } from '../printers.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const ENDPOINT_NAMES = new Set(['endpoints', 'ep', 'endpoint']);

/** Does the command ask for endpoints (`ep`, `endpoints`, `endpoints/NAME`)? */
export function endpointsRequested(args: string[]): boolean {
  const first = args[0] ?? '';
  return ENDPOINT_NAMES.has(first.toLowerCase()) || ENDPOINT_NAMES.has(first.split('/')[0]!.toLowerCase());
}

interface Slice extends KubeObject {
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

function endpointsOf(name: string, namespace: string, slices: Slice[]): KubeObject {
  const ready: { ip: string }[] = [];
  const notReady: { ip: string }[] = [];
  let ports: { name?: string; port?: number; protocol?: string }[] = [];
  let created = '';
  for (const s of slices) {
    if (!created || (s.metadata.creationTimestamp ?? '') < created) created = s.metadata.creationTimestamp ?? '';
    ports = s.ports ?? ports;
    for (const e of s.endpoints ?? []) {
      for (const ip of e.addresses ?? []) (e.conditions?.ready === false ? notReady : ready).push({ ip });
    }
  }
  const subset: Record<string, unknown> = {};
  if (ready.length) subset['addresses'] = ready;
  if (notReady.length) subset['notReadyAddresses'] = notReady;
  if (ports.length) subset['ports'] = ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' }));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, ...(created ? { creationTimestamp: created } : {}), labels: { ...(slices[0]?.metadata.labels ?? {}) } },
    ...(ready.length || notReady.length ? { subsets: [subset] } : {}),
  };
}

function endpointsCell(ep: KubeObject): string {
  const subsets = (ep['subsets'] as { addresses?: { ip: string }[]; ports?: { port: number }[] }[] | undefined) ?? [];
  const all: string[] = [];
  for (const s of subsets) {
    for (const a of s.addresses ?? []) {
      if (!s.ports?.length) all.push(a.ip);
      else for (const p of s.ports) all.push(`${a.ip}:${p.port}`);
    }
  }
  if (!all.length) return '<none>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

export async function getEndpoints(ctx: KubectlContext, args: string[], format: OutputFormat, allNamespaces: boolean, selector: string): Promise<number> {
  const names = args[0]!.includes('/') ? args.map((a) => a.split('/')[1]!) : args.slice(1);
  if (names.length && selector) throw usageError('name cannot be provided when a selector is specified');
  const slicesResource = lookupResource('endpointslices')!;
  const conn = await ctx.conn();
  const ns = allNamespaces ? '' : `/namespaces/${encodeURIComponent(ctx.namespace)}`;
  const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
  const list = await ctx.must(conn.list(`/apis/${slicesResource.group}/${slicesResource.version}${ns}/endpointslices${q}`));
  const byService = new Map<string, Slice[]>();
  for (const s of (list as KubeList<Slice>).items) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${s.metadata.namespace ?? ''}/${svc}`;
    byService.set(key, [...(byService.get(key) ?? []), s]);
  }
  let endpoints = [...byService.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, slices]) => endpointsOf(key.split('/')[1]!, key.split('/')[0]!, slices));
  const errors: string[] = [];
  if (names.length) {
    const found: KubeObject[] = [];
    for (const n of names) {
      const ep = endpoints.find((e) => e.metadata.name === n);
      if (ep) found.push(ep);
      else errors.push(`Error from server (NotFound): endpoints ${JSON.stringify(n)} not found`);
    }
    endpoints = found;
  }
  const now = Date.now();
  if (format.kind === 'table') {
    const f = ctx.flags;
    if (endpoints.length) {
      let text = '';
      if (!f.bool('no-headers')) text += (allNamespaces ? 'NAMESPACE\t' : '') + 'NAME\tENDPOINTS\tAGE' + (f.bool('show-labels') ? '\tLABELS' : '') + '\n';
      for (const ep of endpoints) {
        const created = Date.parse(ep.metadata.creationTimestamp ?? '');
        const age = Number.isNaN(created) ? '<unknown>' : humanDuration(now - created);
        const labels = Object.entries(ep.metadata.labels ?? {})
          .sort()
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        text += (allNamespaces ? `${ep.metadata.namespace}\t` : '') + `${ep.metadata.name}\t${endpointsCell(ep)}\t${age}` + (f.bool('show-labels') ? `\t${labels || '<none>'}` : '') + '\n';
      }
      ctx.io.out(newTableWriter().format(text));
    } else if (!names.length) {
      ctx.io.err(allNamespaces ? 'No resources found\n' : `No resources found in ${ctx.namespace} namespace.\n`);
    }
  } else if (format.kind === 'name') {
    for (const ep of endpoints) ctx.io.out(`endpoints/${ep.metadata.name}\n`);
  } else if (format.kind === 'custom-columns') {
    ctx.io.out(newTableWriter().format(customColumnsText(format, endpoints, ctx.flags.bool('no-headers'))));
  } else {
    ctx.io.out(printObjectFormat(format, names.length === 1 && endpoints.length === 1 ? endpoints[0] : listOf(endpoints)));
  }
  if (errors.length) throw new KubectlError(errors.join('\n'));
  return 0;
}
