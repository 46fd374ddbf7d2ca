// A cluster for policy tests: pods with labels and ports placed on chosen
// nodes, policies applied through the apiserver (admission, store, engine,
// agents, maps), and probes run as real traffic from inside pods: curl (a
// denied TCP connection times out, exit 28) and agnhost connect (the e2e
// NetworkPolicy suite's probe: "TIMEOUT" when dropped).

import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import { lookupResource, type ResourceInfo } from '../../src/k8s/resources.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { drainEvents, type DatapathEvent, type DropEvent, type PolicyVerdictEvent } from '../../src/datapath/monitor.js';
import { PolicyEngine } from '../../src/policy/index.js';
import { startCluster, type Cluster, type ExecResult } from '../cluster/harness.js';
import type { ClusterConfigInput } from '../../src/cluster/config.js';

export const CNP = lookupResource('ciliumnetworkpolicies.cilium.io')!;
export const CCNP = lookupResource('ciliumclusterwidenetworkpolicies.cilium.io')!;
export const KNP = lookupResource('networkpolicies.networking.k8s.io')!;

export interface PodSpec {
  namespace?: string;
  labels?: Record<string, string>;
  /** Container ports served (HTTP on TCP, echo on UDP); default 80/TCP. */
  ports?: { port: number; name?: string; protocol?: string }[];
  /** Pin to a node (default: the scheduler's choice). */
  node?: string;
  image?: string;
}

export interface PolicyCluster extends Cluster {
  engine: PolicyEngine;
  /** Create a namespace (with labels). */
  namespace(name: string, labels?: Record<string, string>): void;
  /** Create a pod and wait until it runs; returns its IP. */
  pod(name: string, spec?: PodSpec): string;
  podIp(namespace: string, name: string): string;
  /** Create or replace a policy object; throws with the apiserver's message when rejected. */
  apply(obj: KubeObject): KubeObject;
  /** Delete a policy object. */
  remove(kind: 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy' | 'NetworkPolicy', name: string, namespace?: string): void;
  /** curl from a pod: 0 = got an answer, 28 = timed out (dropped), 7 = refused. */
  curl(from: string, url: string, timeoutS?: number): Promise<ExecResult>;
  /** agnhost connect from a pod, as the e2e NetworkPolicy tests probe: '' when connected, else the error class (TIMEOUT, REFUSED). */
  connect(from: string, target: string, protocol?: 'tcp' | 'udp'): Promise<string>;
  /** Policy-verdict events of every node since the last call (drops since then are discarded). */
  verdicts(): PolicyVerdictEvent[];
  /** Drop events of every node since the last call (verdicts since then are discarded). */
  drops(): DropEvent[];
  close(): Promise<void>;
}

function resourceOf(kind: string): ResourceInfo {
  if (kind === 'CiliumNetworkPolicy') return CNP;
  if (kind === 'CiliumClusterwideNetworkPolicy') return CCNP;
  if (kind === 'NetworkPolicy') return KNP;
  throw new Error(`not a policy kind: ${kind}`);
}

export async function policyCluster(opts: { config?: ClusterConfigInput; workers?: number; policyMapMax?: number } = {}): Promise<PolicyCluster> {
  const config: ClusterConfigInput = { workers: opts.workers ?? 2, ...(opts.config ?? {}) };
  const c = await startCluster({ config, ...(opts.policyMapMax ? { policyMapMax: opts.policyMapMax } : {}) });
  const { rt } = c;
  const engine = rt.policy as PolicyEngine;
  assert.ok(engine instanceof PolicyEngine, 'the runtime uses the policy engine by default');
  // Hubble (when wired) consumes cilium_events; tap it, or drain the rings directly.
  const seen: DatapathEvent[] = [];
  const hubble = (rt as unknown as { hubble?: { tapEvents(cb: (node: string, e: DatapathEvent) => void): () => void; drainAll(): void } }).hubble;
  hubble?.tapEvents((_node, e) => {
    if (e.type === 'policy-verdict' || e.type === 'drop') seen.push(e);
  });
  const events = (): DatapathEvent[] => {
    hubble?.drainAll();
    const out = seen.splice(0);
    for (const n of rt.nodes) for (const e of drainEvents(n.dp.events)) if (e.type === 'policy-verdict' || e.type === 'drop') out.push(e);
    return out;
  };
  const podIp = (namespace: string, name: string): string => String((rt.cache.get(R.pods, namespace, name)?.['status'] as { podIP?: string } | undefined)?.podIP ?? '');
  return {
    ...c,
    engine,
    namespace(name, labels) {
      const r = rt.api.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } });
      assert.ok(r.ok, r.ok ? '' : r.status.message);
    },
    pod(name, spec = {}) {
      const ns = spec.namespace ?? 'default';
      const ports = spec.ports ?? [{ port: 80 }];
      const body = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns, labels: spec.labels ?? { app: name } },
        spec: {
          ...(spec.node ? { nodeName: spec.node } : {}),
          containers: [
            {
              name: 'c',
              image: spec.image ?? 'podpath/server',
              ports: ports.map((p) => ({ containerPort: p.port, ...(p.name ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP' })),
            },
          ],
        },
      };
      const r = rt.api.create(R.pods, ns, body);
      assert.ok(r.ok, r.ok ? '' : r.status.message);
      const ip = podIp(ns, name);
      assert.ok(ip, `pod ${ns}/${name} has an IP`);
      return ip;
    },
    podIp,
    apply(obj) {
      const res = resourceOf(String(obj.kind));
      const ns = res.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
      const existing = rt.cache.get(res, ns, obj.metadata.name ?? '');
      const r = existing
        ? rt.api.update(res, ns, obj.metadata.name ?? '', { ...obj, metadata: { ...obj.metadata, resourceVersion: existing.metadata.resourceVersion } })
        : rt.api.create(res, ns, obj);
      if (!r.ok) throw new Error(r.status.message);
      return r.obj;
    },
    remove(kind, name, namespace = 'default') {
      const res = resourceOf(kind);
      const r = rt.api.delete(res, res.namespaced ? namespace : undefined, name);
      assert.ok(r.ok, r.ok ? '' : r.status.message);
    },
    curl(from, url, timeoutS = 2) {
      return c.exec(from, ['curl', '-s', '-m', String(timeoutS), url]);
    },
    async connect(from, target, protocol = 'tcp') {
      const r = await c.exec(from, ['agnhost', 'connect', target, '--timeout=1s', `--protocol=${protocol}`]);
      if (r.code === 0) return '';
      return (r.stderr.split(':')[0] ?? r.stderr).trim();
    },
    verdicts() {
      return events().filter((e): e is PolicyVerdictEvent => e.type === 'policy-verdict');
    },
    drops() {
      return events().filter((e): e is DropEvent => e.type === 'drop');
    },
    close: () => rt.close(),
  };
}

/** A CiliumNetworkPolicy object. */
export function cnp(name: string, spec: Record<string, unknown>, namespace = 'default'): KubeObject {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec };
}

export function ccnp(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name }, spec };
}

export function knp(name: string, spec: Record<string, unknown>, namespace = 'default'): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

/** curl's outcome as a word: ok (answered), dropped (timed out), refused (RST: reached, nothing listening). */
export async function reach(c: PolicyCluster, from: string, url: string): Promise<string> {
  const r = await c.curl(from, url);
  return r.code === 0 ? 'ok' : r.code === 28 ? 'dropped' : r.code === 7 ? 'refused' : `exit ${r.code}`;
}

/** Probe a list of [from, url] and return "from url outcome" lines (one assert shows every difference). */
export async function matrix(c: PolicyCluster, probes: [string, string][]): Promise<string[]> {
  const out: string[] = [];
  for (const [from, url] of probes) out.push(`${from} ${url} ${await reach(c, from, url)}`);
  return out;
}

/** Assert a set of probes: [from pod, url, expect allowed]. */
export async function expectReach(c: PolicyCluster, probes: [string, string, boolean][]): Promise<void> {
  const got: string[] = [];
  const want: string[] = [];
  for (const [from, url, allowed] of probes) {
    const r = await c.curl(from, url);
    got.push(`${from} → ${url}: ${r.code === 0 ? 'allowed' : r.code === 28 ? 'dropped' : `exit ${r.code}`}`);
    want.push(`${from} → ${url}: ${allowed ? 'allowed' : 'dropped'}`);
  }
  assert.deepEqual(got, want);
}

/** The Star Wars demo (deathstar deployment and service, tiefighter, xwing) in default. */
export async function starwarsCluster(workers: number): Promise<PolicyCluster> {
  const c = await policyCluster({ workers });
  const deathstar = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'deathstar', labels: { app: 'deathstar' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { org: 'empire', class: 'deathstar' } },
      template: {
        metadata: { labels: { org: 'empire', class: 'deathstar', 'app.kubernetes.io/name': 'deathstar' } },
        spec: { containers: [{ name: 'deathstar', image: 'docker.io/cilium/starwars', ports: [{ containerPort: 80 }] }] },
      },
    },
  };
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'deathstar' }, spec: { type: 'ClusterIP', selector: { org: 'empire', class: 'deathstar' }, ports: [{ port: 80 }] } };
  const ship = (name: string, org: string, cls: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { org, class: cls, 'app.kubernetes.io/name': name } },
    spec: { containers: [{ name: 'spaceship', image: 'docker.io/tgraf/netperf' }] },
  });
  for (const [r, o] of [
    [R.deployments, deathstar],
    [R.services, svc],
    [R.pods, ship('tiefighter', 'empire', 'tiefighter')],
    [R.pods, ship('xwing', 'alliance', 'xwing')],
  ] as const) {
    const res = c.rt.api.create(r, 'default', o);
    assert.ok(res.ok, res.ok ? '' : res.status.message);
  }
  return c;
}
