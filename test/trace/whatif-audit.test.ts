// What-if over all pods (the lab's deny policy changes exactly the frontend →
// backend pairs, and the prediction is what the cluster then does), the
// classic `cilium-dbg policy trace` in the agent pod (lab step 14), and
// per-policy audit mode (podpath.io/mode: audit): evaluated, reported as
// AUDIT by Hubble, never enforced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, pods, type Cluster } from '../cluster/harness.js';
import { R } from '../../src/cluster/controllers/common.js';
import { lookupResource } from '../../src/k8s/resources.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { parseManifests } from '../../src/trace/api.js';
import { whatIf, formatWhatIf } from '../../src/trace/whatif.js';
import { trace } from '../../src/trace/trace.js';
import { Verdict, type Flow } from '../../src/hubble/flow.js';

const CNP = lookupResource('ciliumnetworkpolicies.cilium.io')!;
const LAB = join(process.cwd(), 'labs', '01-packet-flow');

async function demo(): Promise<Cluster> {
  const c = await startCluster();
  c.rt.deployDemo();
  return c;
}

const names = (c: Cluster, app: string): string[] => c.rt.podsWithLabel('demo', 'app', app).map((p) => `demo/${p.metadata.name}`);
const podIp = (c: Cluster, key: string): string => String((c.rt.cache.get(R.pods, 'demo', key.slice(5))!['status'] as { podIP: string }).podIP);

function agentPod(c: Cluster): string {
  return `kube-system/${pods(c.rt, 'kube-system').find((p) => p.metadata.name?.startsWith('cilium-') && !p.metadata.name.startsWith('cilium-operator'))!.metadata.name}`;
}

function allFlows(c: Cluster): Flow[] {
  c.rt.hubble.drainAll();
  const out: Flow[] = [];
  for (const o of c.rt.hubble.observers) for (let s = o.ring.oldestSeq; s < o.ring.nextSeq; s++) out.push(o.ring.at(s)!);
  return out;
}

test("whatif on the lab's deny policy: exactly the frontend → backend pairs change to denied; the cluster then does what it predicted", async () => {
  const c = await demo();
  try {
    const deny = parseManifests(readFileSync(join(LAB, 'deny-policy.yaml'), 'utf8'), 'deny-policy.yaml');
    const w = whatIf(c.rt, deny);
    assert.deepEqual(w.problems, []);
    assert.equal(c.rt.cache.list(CNP).length, 0, 'nothing was applied');
    const frontends = names(c, 'frontend');
    const backends = names(c, 'backend');
    assert.equal(frontends.length, 2);
    assert.equal(backends.length, 2);
    const toBackend = w.changes.filter((x) => backends.includes(x.destination)).map((x) => `${x.source} → ${x.destination} ${x.port}/${x.protocol} ${x.before}→${x.after}`).sort();
    const want = frontends.flatMap((f) => backends.map((b) => `${f} → ${b} 8080/TCP allowed→denied`)).sort();
    assert.deepEqual(toBackend, want);
    for (const x of w.changes) {
      assert.ok(frontends.includes(x.source), `only the frontend's connectivity changes: ${JSON.stringify(x)}`);
      assert.equal(x.after, 'denied');
      assert.match(x.reason, new RegExp(deny[0]!.metadata.name!));
    }
    assert.ok(w.traced < w.pairs, 'pairs of the same identities share one trace');
    const text = formatWhatIf(w);
    assert.match(text, new RegExp(`^What if: \\+CiliumNetworkPolicy/demo/${deny[0]!.metadata.name}\\n\\d+ pods, \\d+ pod pairs × ports compared`));

    // Reality agrees: apply it, and the frontend's curl to a backend pod times out.
    assert.ok(c.rt.api.create(CNP, 'demo', deny[0]!).ok);
    const be = backends[0]!;
    const r = await c.exec(frontends[0]!, ['curl', '-s', '-m', '2', `http://${podIp(c, be)}:8080/`]);
    assert.equal(r.code, 28);
    // And the reverse what-if (--without) predicts the pairs come back.
    const back = whatIf(c.rt, [], [`cnp/demo/${deny[0]!.metadata.name}`]);
    assert.deepEqual(back.changes.filter((x) => backends.includes(x.destination)).map((x) => `${x.source} → ${x.destination} ${x.port}/${x.protocol} ${x.before}→${x.after}`).sort(), want.map((l) => l.replace('allowed→denied', 'denied→allowed')));
  } finally {
    await c.rt.close();
  }
});

test('cilium-dbg policy trace in the agent pod (lab step 14): ALLOWED, then DENIED with the egress section; ns/pod and ns:pod, identities, labels', async () => {
  const c = await demo();
  try {
    const fe = names(c, 'frontend')[0]!.slice(5);
    const be = names(c, 'backend')[0]!.slice(5);
    const agent = agentPod(c);
    const run = (args: string[]) => c.exec(agent, ['cilium-dbg', 'policy', 'trace', ...args]);
    const before = await run(['--src-k8s-pod', `demo/${fe}`, '--dst-k8s-pod', `demo/${be}`, '--dport', '8080']);
    assert.equal(before.code, 0, before.stderr);
    const lines = before.stdout.split('\n');
    assert.equal(lines[0], '-'.repeat(64));
    assert.match(lines[1]!, /^Tracing From: \[k8s:app=frontend, k8s:io\.cilium\.k8s\.namespace\.labels\.[^\]]*\] => To: \[k8s:app=backend, [^\]]*\] Ports: \[8080\/ANY\]$/);
    assert.match(before.stdout, /Policy enforcement is disabled because no rules in the policy repository match any endpoint selector from the provided destination sets of labels\.\nLabel verdict: allowed\n\nFinal verdict: ALLOWED\n$/);

    const deny = parseManifests(readFileSync(join(LAB, 'deny-policy.yaml'), 'utf8'))[0]!;
    assert.ok(c.rt.api.create(CNP, 'demo', deny).ok);
    const after = await run(['--src-k8s-pod', `demo:${fe}`, '--dst-k8s-pod', `demo:${be}`, '--dport', '8080/tcp']);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /\nResolving egress policy for \[k8s:app=frontend [^\]]*\]\n/);
    assert.match(after.stdout, new RegExp(`\\* Rule CiliumNetworkPolicy demo/${deny.metadata.name}( egressDeny\\[0\\])?: selected`));
    assert.match(after.stdout, /Egress verdict: denied\n/);
    assert.match(after.stdout, /Final verdict: DENIED\n$/);

    // The same answer asked by identity and by labels.
    const feId = c.rt.nodes.flatMap((n) => n.agent.endpointList()).find((e) => e.podName === fe)!.identity;
    const byId = await run(['--src-identity', String(feId), '-d', 'k8s:app=backend', '--dport', '8080']);
    assert.match(byId.stdout, /Final verdict: DENIED\n$/);
    const byLabels = await run(['-s', 'app=frontend', '-d', 'app=backend', '--dport', '8080']);
    assert.match(byLabels.stdout, /Final verdict: DENIED\n$/);
    // The backend may still reach the frontend: only the frontend's egress is locked.
    const reverse = await run(['--src-k8s-pod', `demo/${be}`, '--dst-k8s-pod', `demo/${fe}`, '--dport', '80']);
    assert.match(reverse.stdout, /Final verdict: ALLOWED\n$/);

    const missing = await run(['--dst-k8s-pod', `demo/${be}`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error: missing source: use --src-k8s-pod, --src-identity, --src-endpoint or -s\n');
    const bad = await run(['--bogus']);
    assert.equal(bad.stderr, 'Error: unknown flag: --bogus\n');
    const nopod = await run(['--src-k8s-pod', 'demo/nope', '--dst-k8s-pod', `demo/${be}`]);
    assert.match(nopod.stderr, /^Error: Unable to get endpoint for pod demo:nope/);
  } finally {
    await c.rt.close();
  }
});

test('per-policy audit: a podpath.io/mode: audit policy is evaluated, shown as AUDIT in Hubble and in the trace, never enforced; removing the annotation enforces it', async () => {
  const c = await demo();
  try {
    const fe = names(c, 'frontend')[0]!;
    const be = names(c, 'backend')[0]!;
    const policy: KubeObject = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'staged-deny', namespace: 'demo', annotations: { 'podpath.io/mode': 'audit' } },
      spec: { endpointSelector: { matchLabels: { app: 'frontend' } }, enableDefaultDeny: { egress: false }, egressDeny: [{ toEndpoints: [{ matchLabels: { app: 'backend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
    };
    assert.ok(c.rt.api.create(CNP, 'demo', policy).ok);
    const before = new Set(allFlows(c).map((f) => f.uuid));
    const r = await c.exec(fe, ['curl', '-s', '-m', '2', `http://${podIp(c, be)}:8080/`]);
    assert.equal(r.code, 0, 'audited: not enforced');
    const audit = allFlows(c).filter((f) => !before.has(f.uuid) && f.verdict === Verdict.AUDIT);
    assert.ok(audit.length >= 1, 'an AUDIT verdict beside the real one');
    assert.deepEqual(audit[0]!.egress_denied_by?.map((p) => `${p.kind} ${p.namespace}/${p.name}`), ['CiliumNetworkPolicy demo/staged-deny']);
    // Other destinations are untouched by the audit map.
    const db = names(c, 'database')[0]!;
    // Flows are gathered node by node, so "new" means not seen before, not "after index n".
    const seen = new Set(allFlows(c).map((f) => f.uuid));
    assert.equal((await c.exec(fe, ['curl', '-s', '-m', '2', `http://${podIp(c, db)}:5432/`])).code === 28, false);
    assert.equal(allFlows(c).filter((f) => !seen.has(f.uuid) && f.verdict === Verdict.AUDIT).length, 0);

    // The trace shows both: the real decision (allow) and the audit one (would deny), and it is ALLOWED.
    const t = trace(c.rt, { src: fe, dst: podIp(c, be), port: 8080 });
    assert.equal(t.verdict, 'ALLOWED');
    const a = t.steps.find((s) => s.kind === 'audit')!;
    assert.equal(a.policy!.verdict, 'audit');
    assert.deepEqual(a.policy!.rules.map((x) => x.text), ['CiliumNetworkPolicy demo/staged-deny egressDeny[0]']);
    assert.match(a.monitor!, /action audit/);

    // Enforce it: drop the annotation.
    const stored = c.rt.cache.get(CNP, 'demo', 'staged-deny')!;
    const upd = structuredClone(stored);
    delete upd.metadata.annotations;
    assert.ok(c.rt.api.update(CNP, 'demo', 'staged-deny', upd).ok);
    assert.equal((await c.exec(fe, ['curl', '-s', '-m', '2', `http://${podIp(c, be)}:8080/`])).code, 28);
    const t2 = trace(c.rt, { src: fe, dst: podIp(c, be), port: 8080 });
    assert.equal(t2.verdict, 'DENIED');
    assert.equal(t2.steps.filter((s) => s.kind === 'audit').length, 0);
    // No audit maps are left once nothing is audited.
    for (const n of c.rt.nodes) assert.deepEqual([...n.dp.maps.keys()].filter((k) => k.startsWith('cilium_policy_audit_')), []);
  } finally {
    await c.rt.close();
  }
});
