// The policy engine at scale, called directly on EndpointPolicyContexts (no
// pods, no datapath): a 1,000-node cluster's worth of identities — 50,000
// endpoints in 200 namespaces × 25 Deployments × 10 replicas = 5,000
// identities — and 250 policies (half L4, half with HTTP/DNS L7 rules) that
// select 10,000 of the endpoints. Measures:
//   full      every endpoint's policy map computed (entries and cookies)
//   pod       one pod added: an existing identity, and a new identity that
//             peer selectors select (the identities it touches recomputed)
//   policy    one policy changed (the endpoints it selects recomputed)
// and the heap. Usage: node dist/bench/policy.bench.js [--json]

import { cpus } from 'node:os';
import type { EndpointPolicyContext } from '../src/agent/policy.js';
import type { KubeObject } from '../src/k8s/types.js';
import { PolicyEngine } from '../src/policy/index.js';

const json = process.argv.includes('--json');
const NAMESPACES = 200;
const APPS = 25;
const REPLICAS = 10;
const POLICIES = 250;

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'policy', metric, value: Number(value.toFixed(3)), unit }));
  else console.log(human);
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

function labelsOf(ns: number, app: number, extra: string[] = []): string[] {
  return [
    `k8s:app=app-${app}`,
    `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=ns-${ns}`,
    'k8s:io.cilium.k8s.policy.cluster=default',
    'k8s:io.cilium.k8s.policy.serviceaccount=default',
    `k8s:io.kubernetes.pod.namespace=ns-${ns}`,
    `k8s:tier=${app % 3 === 0 ? 'frontend' : app % 3 === 1 ? 'backend' : 'db'}`,
    ...extra,
  ].sort();
}

/** Policy i selects 4 apps of namespace i % 200 (policies 200..249 take the namespace's other apps): 40 endpoints each, 10,000 in all. */
function policy(i: number, extraPort = false): KubeObject {
  const ns = i % NAMESPACES;
  const base = i < NAMESPACES ? 0 : 8;
  const subjects = [0, 1, 2, 3].map((k) => `app-${base + k}`);
  const peers = [4, 5, 6].map((k) => `app-${base + k}`);
  const l7 = i % 2 === 1;
  const ingressPorts = [{ port: '8080', protocol: 'TCP' }, ...(extraPort ? [{ port: '8443', protocol: 'TCP' }] : [])];
  const spec: Record<string, unknown> = {
    endpointSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: subjects }] },
    ingress: [
      {
        fromEndpoints: [{ matchExpressions: [{ key: 'app', operator: 'In', values: peers }] }, { matchLabels: { 'k8s:io.kubernetes.pod.namespace': `ns-${(ns + 1) % NAMESPACES}`, tier: 'frontend' } }],
        toPorts: l7 ? [{ ports: ingressPorts, rules: { http: [{ method: 'GET', path: '/api/.*' }, { method: 'POST', path: '/api/orders' }] } }] : [{ ports: [...ingressPorts, { port: '9090', protocol: 'TCP' }] }],
      },
      { fromEntities: ['remote-node'] },
    ],
    egress: [
      { toEndpoints: [{ matchLabels: { tier: 'db' } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] },
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
        toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], ...(l7 ? { rules: { dns: [{ matchPattern: '*' }] } } : {}) }],
      },
      { toCIDRSet: [{ cidr: `10.${100 + (i >> 8)}.${i & 255}.0/24`, except: [`10.${100 + (i >> 8)}.${i & 255}.128/28`] }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] },
    ],
    ...(i % 10 === 0 ? { ingressDeny: [{ fromEntities: ['world'] }] } : {}),
  };
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: `p-${i}`, namespace: `ns-${ns}`, uid: `uid-${i}` }, spec };
}

// ---- setup ---------------------------------------------------------------------------
const heap0 = heapMb();
const engine = new PolicyEngine();
let nextId = 256;
const identityOf = new Map<string, number>();
const contexts: EndpointPolicyContext[] = [];
const tSetup0 = performance.now();
engine.upsertIdentity(nextId++, ['k8s:io.kubernetes.pod.namespace=kube-system', 'k8s:k8s-app=kube-dns', 'k8s:io.cilium.k8s.policy.cluster=default']);
for (let ns = 0; ns < NAMESPACES; ns++) {
  for (let app = 0; app < APPS; app++) {
    const labels = labelsOf(ns, app);
    const id = nextId++;
    identityOf.set(`${ns}/${app}`, id);
    engine.upsertIdentity(id, labels);
    for (let r = 0; r < REPLICAS; r++) {
      contexts.push({ id: contexts.length % 4000, namespace: `ns-${ns}`, podName: `app-${app}-${r}`, identity: id, labels, namedPorts: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
    }
  }
}
const tIdentities = performance.now();
for (let i = 0; i < POLICIES; i++) {
  const errs = engine.upsertPolicy(policy(i));
  if (errs.length) throw new Error(`policy ${i}: ${JSON.stringify(errs)}`);
}
const tPolicies = performance.now();
report('setup_identities_ms', tIdentities - tSetup0, 'ms', `identities: ${engine.stats().identities} in ${(tIdentities - tSetup0).toFixed(0)} ms`);
report('setup_policies_ms', tPolicies - tIdentities, 'ms', `policies: ${POLICIES} (${engine.stats().rules} rules) loaded in ${(tPolicies - tIdentities).toFixed(0)} ms`);

// ---- full computation ------------------------------------------------------------------
const tFull0 = performance.now();
let entries = 0;
let selected = 0;
for (const ctx of contexts) {
  const p = engine.compute(ctx, 'default');
  entries += p.entries.length;
  if (p.ingressEnforced || p.egressEnforced) selected++;
}
const fullMs = performance.now() - tFull0;
if (selected !== 10_000) throw new Error(`expected 10,000 selected endpoints, got ${selected}`);
report('full_compute_ms', fullMs, 'ms', `full computation: ${contexts.length} endpoints (${selected} selected), ${entries} map entries, in ${fullMs.toFixed(0)} ms`);
report('full_entries', entries, 'entries', `  ${(entries / contexts.length).toFixed(1)} entries per endpoint on average`);

// ---- one pod added -----------------------------------------------------------------------
const time = (fn: () => void, runs = 50): number => {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
};
const affected: number[] = [];
engine.subscribe({ regenerate: (ids) => affected.push(...ids), prefixesChanged: () => {} });
const firstCtx = new Map<number, EndpointPolicyContext>();
for (const c of contexts) if (!firstCtx.has(c.identity)) firstCtx.set(c.identity, c);
/** Realize what the engine announced: recompute one endpoint per affected identity (its endpoints share the result). */
const realize = (): number => {
  let n = 0;
  const seen = new Set(affected.splice(0));
  for (const id of seen) {
    const ctx = firstCtx.get(id);
    if (ctx) n += engine.compute(ctx, 'default').entries.length;
  }
  return n;
};
let podSeq = 0;
const podSame = time(() => {
  const ctx = { ...contexts[1234]!, podName: `extra-${podSeq++}` };
  engine.compute(ctx, 'default');
  realize();
});
report('pod_added_existing_identity_ms', podSame, 'ms', `one pod added (existing identity): ${podSame.toFixed(3)} ms (median of 50)`);
let touched = 0;
const podNew = time(() => {
  // A frontend in ns-7 with a new label: a new identity that peer selectors (tier=frontend of ns-7, tier=... ) select.
  const id = nextId++;
  const labels = labelsOf(7, 24, [`k8s:canary=c${id}`]);
  engine.upsertIdentity(id, labels);
  engine.compute({ id: 1, namespace: 'ns-7', podName: `canary-${id}`, identity: id, labels, namedPorts: [] }, 'default');
  touched = new Set(affected).size;
  realize();
});
report('pod_added_new_identity_ms', podNew, 'ms', `one pod added (new identity, ${touched} policies' subjects updated): ${podNew.toFixed(3)} ms (median of 50)`);

// ---- one policy changed -------------------------------------------------------------------
let flip = false;
let policyTouched = 0;
const policyMs = time(() => {
  flip = !flip;
  engine.upsertPolicy(policy(42, flip));
  policyTouched = new Set(affected).size;
  realize();
});
report('policy_changed_ms', policyMs, 'ms', `one policy changed (${policyTouched} identities, ${policyTouched * REPLICAS} endpoints regenerated): ${policyMs.toFixed(3)} ms (median of 50)`);

// ---- memory ---------------------------------------------------------------------------------
const heap = heapMb() - heap0;
const s = engine.stats();
report('heap_mb', heap, 'MB', `heap: ${heap.toFixed(1)} MB for ${s.identities} identities, ${s.selectors} selectors, ${s.subjects} subject policies, ${s.cookies} cookies, ${s.cidrIdentities} CIDR identities${gc ? '' : ' (run with --expose-gc for exact figures)'}`);
report('cpus', cpus().length, 'cpus', `machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? ''}`);
