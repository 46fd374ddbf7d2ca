// `podpath trace` on a 1,000-pod cluster: the lab's demo app plus 1,000 pods
// from one Deployment over 4 workers, policies on the demo app (so both ends
// enforce and attribution has rules to name). Measures one trace, frontend →
// backend by DNS name through socket LB and VXLAN with the reply (fork the
// two nodes, run the programs, build the steps), and a what-if trace
// (--with the lab's deny policy: the policy engine forked as well).
// Target: a trace answers in under 50 ms. Usage: node dist/bench/trace.bench.js [--json]

import { cpus } from 'node:os';
import { ClusterRuntime } from '../src/cluster/runtime.js';
import { lookupResource } from '../src/k8s/resources.js';
import type { KubeObject } from '../src/k8s/types.js';
import { trace } from '../src/trace/trace.js';

const json = process.argv.includes('--json');
const PODS = 1000;

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'trace', metric, value: Number(value.toFixed(3)), unit }));
  else if (human) console.log(human);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const rt = await ClusterRuntime.create({ config: { workers: 4 }, mapSizes: { ctTcp: 65536, ctAny: 32768, nat: 32768 } });
rt.deployDemo();
const r = rt.api.create(lookupResource('deployments')!, 'default', {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'scale', namespace: 'default' },
  spec: {
    replicas: PODS,
    selector: { matchLabels: { app: 'scale' } },
    template: { metadata: { labels: { app: 'scale' } }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', args: ['netexec', '--http-port=8080'], ports: [{ containerPort: 8080 }] }] } },
  },
});
if (!r.ok) throw new Error(r.status.message);
const cnp = lookupResource('ciliumnetworkpolicies.cilium.io')!;
const policies: KubeObject[] = [
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'backend-from-frontend', namespace: 'demo' },
    spec: { endpointSelector: { matchLabels: { app: 'backend' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'frontend-egress', namespace: 'demo' },
    spec: { endpointSelector: { matchLabels: { app: 'frontend' } }, egress: [{ toEndpoints: [{ matchLabels: { app: 'backend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
  },
];
for (const p of policies) if (!rt.api.create(cnp, 'demo', p).ok) throw new Error('policy');
const podCount = rt.cache.list(lookupResource('pods')!).length;
const frontends = rt.podsWithLabel('demo', 'app', 'frontend').map((p) => `demo/${p.metadata.name}`);
const deny: KubeObject = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'frontend-deny-backend', namespace: 'demo' },
  spec: { endpointSelector: { matchLabels: { app: 'frontend' } }, egressDeny: [{ toEndpoints: [{ matchLabels: { app: 'backend' } }] }] },
};

// Warm up the JIT, then measure.
for (let i = 0; i < 20; i++) trace(rt, { src: frontends[i % frontends.length]!, dst: 'backend', reply: true });
const plain: number[] = [];
let steps = 0;
let verdict = '';
for (let i = 0; i < 60; i++) {
  const t0 = performance.now();
  const t = trace(rt, { src: frontends[i % frontends.length]!, dst: 'backend', reply: true });
  plain.push(performance.now() - t0);
  steps = t.steps.length;
  verdict = t.verdict;
}
const hypo: number[] = [];
let whatVerdict = '';
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  const t = trace(rt, { src: frontends[i % frontends.length]!, dst: 'backend', with: [deny] });
  hypo.push(performance.now() - t0);
  whatVerdict = `${t.whatIf!.before.verdict} → ${t.verdict}`;
}

if (!json) console.log(`podpath trace (${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}): ${podCount} pods on ${rt.nodes.length} nodes`);
report('trace_ms', median(plain), 'ms', `  trace frontend → backend (DNS, socket LB, VXLAN, reply; ${steps} steps, ${verdict}): median ${median(plain).toFixed(2)} ms, max ${Math.max(...plain).toFixed(2)} ms (target < 50 ms)`);
report('trace_max_ms', Math.max(...plain), 'ms', '');
report('whatif_trace_ms', median(hypo), 'ms', `  what-if trace --with a deny policy (${whatVerdict}): median ${median(hypo).toFixed(2)} ms`);
report('pods', podCount, 'pods', '');
await rt.close();
if (median(plain) >= 50) {
  console.error(`trace took ${median(plain).toFixed(2)} ms (target < 50 ms)`);
  process.exitCode = 1;
}
