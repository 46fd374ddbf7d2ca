// `podpath trace` on the lab's demo app (frontend → Service backend:8080 →
// backend pods on other nodes): the journey in Cilium's order, from the real
// programs on a fork, with attribution; --reply rides conntrack; nothing is
// left in the live cluster; what-if with --with/--without; the text output;
// the daemon route and the CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../cluster/harness.js';
import { R } from '../../src/cluster/controllers/common.js';
import { formatCtList } from '../../src/datapath/dump.js';
import { ipv4ToString } from '../../src/packet/ip.js';
import { trace, TraceError } from '../../src/trace/trace.js';
import { formatTrace } from '../../src/trace/format.js';
import { parseManifests, handleTraceRequest } from '../../src/trace/api.js';
import type { TraceResult, TraceStep } from '../../src/trace/model.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { lookupResource } from '../../src/k8s/resources.js';
import { DaemonServer } from '../../src/cluster/daemon-server.js';
import { ClockDriver } from '../../src/cluster/clock-driver.js';
import { clusterPaths } from '../../src/cluster/paths.js';
import { traceCli, whatIfCli } from '../../src/trace/cli.js';

const CNP = lookupResource('ciliumnetworkpolicies.cilium.io')!;
const LAB = join(process.cwd(), 'labs', '01-packet-flow');

async function demo(): Promise<Cluster> {
  const c = await startCluster();
  c.rt.deployDemo();
  return c;
}

function apply(c: Cluster, obj: KubeObject): void {
  const r = c.rt.api.create(CNP, obj.metadata.namespace, obj);
  assert.ok(r.ok, r.ok ? '' : r.status.message);
}

function nodeOfPod(c: Cluster, ns: string, name: string): string {
  return String((c.rt.cache.get(R.pods, ns, name)!['spec'] as { nodeName: string }).nodeName);
}

/** A frontend whose traced backend (socket LB's pick) lives on another node: the lab's cross-node path. */
function crossNodeTrace(c: Cluster, extra: { reply?: boolean } = {}): { t: TraceResult; frontend: string } {
  for (const fe of c.rt.podsWithLabel('demo', 'app', 'frontend')) {
    const t = trace(c.rt, { src: `demo/${fe.metadata.name}`, dst: 'backend', ...extra });
    if (t.steps.some((s) => s.kind === 'encap')) return { t, frontend: fe.metadata.name! };
  }
  throw new Error('no frontend pod reaches a backend on another node');
}

const kinds = (steps: TraceStep[]): string[] => steps.map((s) => (s.kind === 'trace' ? s.point! : s.kind === 'policy' ? `${s.policy!.direction}-policy` : s.kind));

const ALLOW_EGRESS = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'frontend-to-backend', namespace: 'demo' },
  spec: {
    endpointSelector: { matchLabels: { app: 'frontend' } },
    egress: [
      { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] },
      { toEndpoints: [{ matchLabels: { app: 'backend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] },
    ],
  },
};
/** Only DNS to kube-dns: everything else the frontend sends is in default deny. */
const LOCKDOWN = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'frontend-egress-lockdown', namespace: 'demo' },
  spec: {
    endpointSelector: { matchLabels: { app: 'frontend' } },
    egress: [{ toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] }],
  },
} as KubeObject;

/** The lab's deny policy (step 13), whatever its current wording. */
function labDeny(): KubeObject {
  return parseManifests(readFileSync(join(LAB, 'deny-policy.yaml'), 'utf8'), 'deny-policy.yaml')[0]!;
}

const ALLOW_INGRESS = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'backend-from-frontend', namespace: 'demo' },
  spec: { endpointSelector: { matchLabels: { app: 'backend' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
};

test('lab path frontend → backend:8080: DNS, socket LB, from-container, egress policy + rule, CT new, VXLAN (VNI = identity, remote node), from-overlay, ingress policy + rule, delivery; the reply is CT reply without policy', async () => {
  const c = await demo();
  try {
    apply(c, ALLOW_EGRESS as KubeObject);
    apply(c, ALLOW_INGRESS as KubeObject);
    const { t, frontend } = crossNodeTrace(c, { reply: true });
    const fwd = t.steps.filter((s) => s.direction === 'forward');
    // The order the issue asks for (other from-*/to-* points in between are fine).
    const want = ['dns', 'socket-lb', 'from-endpoint', 'egress-policy', 'conntrack', 'encap', 'from-overlay', 'ingress-policy', 'to-endpoint', 'deliver'];
    const got = kinds(fwd);
    let at = -1;
    for (const k of want) {
      const i = got.indexOf(k, at + 1);
      assert.ok(i > at, `${k} after position ${at} in ${got.join(', ')}`);
      at = i;
    }

    const feEp = t.source;
    assert.equal(feEp.kind, 'pod');
    assert.equal(feEp.name, `demo/${frontend}`);
    const dns = fwd.find((s) => s.kind === 'dns')!;
    assert.equal(dns.dns!.rcode, 'NOERROR');
    assert.equal(dns.dns!.tried.at(-1), 'backend.demo.svc.cluster.local');
    const vip = String((c.rt.cache.get(R.services, 'demo', 'backend')!['spec'] as { clusterIP: string }).clusterIP);
    assert.deepEqual(dns.dns!.answer, [vip]);

    const lb = fwd.find((s) => s.kind === 'socket-lb')!;
    assert.equal(lb.program, 'cil_sock4_connect');
    assert.equal(lb.hook, 'cgroup/connect4');
    assert.equal(lb.lb!.service, 'demo/backend');
    assert.equal(lb.lb!.frontend, `${vip}:8080`);
    assert.equal(lb.lb!.choice, 'random');
    assert.equal(lb.lb!.slots, 2);
    assert.ok(lb.lb!.slot >= 1 && lb.lb!.slot <= 2);
    const backendIp = lb.lb!.backend.split(':')[0]!;
    const backendPod = c.rt.cache.list(R.pods, 'demo').find((p) => (p['status'] as { podIP?: string }).podIP === backendIp)!;
    const backendNode = c.rt.node(nodeOfPod(c, 'demo', backendPod.metadata.name!))!;
    assert.notEqual(backendNode.name, nodeOfPod(c, 'demo', frontend));

    const egress = fwd.find((s) => s.kind === 'policy' && s.policy!.direction === 'egress')!;
    assert.equal(egress.policy!.enforced, true);
    assert.equal(egress.policy!.verdict, 'allow');
    assert.equal(egress.policy!.match, 'L3-L4');
    assert.deepEqual(egress.policy!.rules.map((r) => r.text), ['CiliumNetworkPolicy demo/frontend-to-backend egress[1]']);
    assert.equal(egress.policy!.key.port, 8080);
    assert.equal(egress.policy!.key.identity, backendNode.agent.endpointOf('demo', backendPod.metadata.name!)!.identity);

    const ct = fwd.find((s) => s.kind === 'conntrack')!;
    assert.equal(ct.ct!.state, 'new');
    assert.ok(ct.ct!.created.some((e) => e.startsWith('OUT ') && e.endsWith(`${backendIp}:8080 TCP`)), ct.ct!.created.join('; '));

    const encap = fwd.find((s) => s.kind === 'encap')!;
    assert.equal(encap.encap!.vni, feEp.identity, 'VNI = source identity');
    assert.equal(encap.encap!.outerDst, ipv4ToString(backendNode.ip), 'outer destination = the backend node');
    assert.equal(encap.encap!.outerSrc, ipv4ToString(c.rt.node(nodeOfPod(c, 'demo', frontend))!.ip));
    assert.equal(encap.encap!.udpDstPort, 8472);

    const ingress = fwd.find((s) => s.kind === 'policy' && s.policy!.direction === 'ingress')!;
    assert.equal(ingress.node, backendNode.name);
    assert.deepEqual(ingress.policy!.rules.map((r) => r.text), ['CiliumNetworkPolicy demo/backend-from-frontend ingress[0]']);
    const backendEp = backendNode.agent.endpointOf('demo', backendPod.metadata.name!)!;
    assert.equal(t.forward.outcome.result, 'delivered');
    assert.equal(t.forward.outcome.endpointId, backendEp.id);
    assert.match(t.forward.outcome.text, new RegExp(`delivered to endpoint ${backendEp.id} \\(demo/${backendPod.metadata.name} on ${backendNode.name}\\)`));

    // The reply: CT reply on both sides, no policy step, back to the frontend's endpoint.
    const rep = t.steps.filter((s) => s.direction === 'reply');
    assert.ok(rep.length > 0);
    assert.equal(rep.filter((s) => s.kind === 'policy').length, 0, 'replies skip policy');
    const cts = rep.filter((s) => s.kind === 'conntrack');
    assert.ok(cts.length >= 2 && cts.every((s) => s.ct!.state === 'reply' && s.ct!.policySkipped), cts.map((s) => s.summary).join('\n'));
    assert.ok('outcome' in t.reply!);
    assert.equal(t.reply.outcome.result, 'delivered');
    assert.equal(t.reply.outcome.endpointId, feEp.endpointId);
    assert.equal(t.verdict, 'ALLOWED');
    assert.ok(rep.some((s) => s.hook === 'cgroup/getpeername4'), 'the application sees the service address');

    // Text: the same order, one block per step.
    const text = formatTrace(t);
    assert.match(text, /^Tracing demo\/frontend-/);
    const order = ['DNS backend.demo.svc.cluster.local', 'socket LB: service demo/backend', 'from-endpoint:', 'egress policy of endpoint', 'conntrack (egress): new connection', `VNI ${feEp.identity} = source identity`, 'from-overlay:', 'ingress policy of endpoint', `to-endpoint: endpoint ${backendEp.id}`, 'Reply:', 'conntrack (egress): reply', 'Verdict: ALLOWED'];
    let pos = -1;
    for (const o of order) {
      const i = text.indexOf(o, pos + 1);
      assert.ok(i > pos, `"${o}" in order in:\n${text}`);
      pos = i;
    }
    // Every step names a program and a hook.
    for (const s of t.steps) assert.ok(s.program && s.hook, JSON.stringify(s));
    assert.equal(t.version, 1);
  } finally {
    await c.rt.close();
  }
});

test('without policy the decisions are the allow-all entries (not enforced); default deny names the selecting policy; nothing stays in the live cluster', async () => {
  const c = await demo();
  try {
    const ctBefore = c.rt.nodes.map((n) => formatCtList(n.dp.ct4, n.dp.ctAny4));
    const rngBefore = c.rt.nodes.map((n) => JSON.stringify(n.dp.rng));
    const flowsBefore = c.rt.nodes.map((n) => c.rt.hubble.observer(n.name)!.ring.size);
    const fe = c.rt.podsWithLabel('demo', 'app', 'frontend')[0]!.metadata.name!;
    const t = trace(c.rt, { src: `demo/${fe}`, dst: 'svc/demo/backend', reply: true });
    const eg = t.steps.find((s) => s.kind === 'policy' && s.policy!.direction === 'egress')!;
    assert.equal(eg.policy!.enforced, false);
    assert.equal(eg.policy!.implicit, 'enforcement-disabled');
    assert.match(eg.policy!.explanation, /egress policy not enforced/);
    assert.equal(t.verdict, 'ALLOWED');

    // An egress lockdown (only DNS allowed): the default deny, named.
    apply(c, LOCKDOWN);
    const d = trace(c.rt, { src: `demo/${fe}`, dst: 'backend', port: 8080 });
    assert.equal(d.verdict, 'DENIED');
    assert.equal(d.forward.outcome.result, 'dropped');
    assert.equal(d.forward.outcome.drop!.code, 133);
    assert.equal(d.forward.outcome.drop!.reason, 'Policy denied');
    assert.equal(d.forward.outcome.drop!.direction, 'egress');
    const p = d.steps.find((s) => s.kind === 'policy')!.policy!;
    assert.equal(p.verdict, 'deny');
    assert.equal(p.cookie, 0);
    assert.deepEqual(p.selectedBy!.map((r) => `${r.kind} ${r.namespace}/${r.name}`), ['CiliumNetworkPolicy demo/frontend-egress-lockdown']);
    assert.match(p.explanation, /^default deny: selected by CiliumNetworkPolicy demo\/frontend-egress-lockdown, no rule allows identity \d+ on 8080\/TCP$/);
    assert.match(d.steps.at(-1)!.summary, /^DROPPED: Policy denied \(133\) at bpf_lxc\.c:\d+/);
    assert.match(d.steps.at(-1)!.monitor!, /^xx drop \(Policy denied\) flow 0x[0-9a-f]+ to endpoint 0, ifindex \d+, file bpf_lxc\.c:\d+/);
    // DNS to kube-dns is still allowed, by the policy's first egress rule.
    const dnsT = trace(c.rt, { src: `demo/${fe}`, dst: 'svc/kube-system/kube-dns', port: 53, protocol: 'udp', reply: true });
    assert.equal(dnsT.verdict, 'ALLOWED');
    assert.deepEqual(dnsT.steps.find((s) => s.kind === 'policy')!.policy!.rules.map((r) => r.text), ['CiliumNetworkPolicy demo/frontend-egress-lockdown egress[0]']);
    assert.equal(dnsT.steps.find((s) => s.kind === 'socket-lb')!.lb!.choice, 'socket-cookie');

    // Live state untouched: conntrack, the LB randomness, Hubble.
    await Promise.resolve();
    c.rt.hubble.drainAll();
    assert.deepEqual(c.rt.nodes.map((n) => formatCtList(n.dp.ct4, n.dp.ctAny4)), ctBefore);
    assert.deepEqual(c.rt.nodes.map((n) => JSON.stringify(n.dp.rng)), rngBefore);
    assert.deepEqual(c.rt.nodes.map((n) => c.rt.hubble.observer(n.name)!.ring.size), flowsBefore);
    // --record: the same journey as flows.
    trace(c.rt, { src: `demo/${fe}`, dst: 'backend', port: 8080, record: true });
    c.rt.hubble.drainAll();
    const flows = c.rt.nodes.reduce((n, x) => n + c.rt.hubble.observer(x.name)!.ring.size, 0) - flowsBefore.reduce((a, b) => a + b, 0);
    assert.ok(flows >= 3, `${flows} flows recorded`);
  } finally {
    await c.rt.close();
  }
});

test('what-if: --with the deny policy and --without it show before and after; the cluster is unchanged', async () => {
  const c = await demo();
  try {
    const fe = c.rt.podsWithLabel('demo', 'app', 'frontend')[0]!.metadata.name!;
    const deny = [labDeny()];
    const name = deny[0]!.metadata.name!;
    const w = trace(c.rt, { src: `demo/${fe}`, dst: 'backend', with: deny });
    assert.equal(w.verdict, 'DENIED');
    assert.equal(w.whatIf!.before.verdict, 'ALLOWED');
    assert.deepEqual(w.whatIf!.added, [`CiliumNetworkPolicy/demo/${name}`]);
    const p = w.steps.find((s) => s.kind === 'policy' && s.policy!.verdict === 'deny')!.policy!;
    assert.ok([...p.rules, ...(p.selectedBy ?? [])].some((r) => r.name === name), 'the decision names the lab policy');
    assert.ok([133, 181].includes(w.forward.outcome.drop!.code));
    assert.match(formatTrace(w), /Before: {2}ALLOWED[\s\S]*After: {3}DENIED/);
    assert.equal(c.rt.cache.list(CNP).length, 0, 'nothing applied');
    assert.equal(trace(c.rt, { src: `demo/${fe}`, dst: 'backend' }).verdict, 'ALLOWED');

    apply(c, deny[0]!);
    const wo = trace(c.rt, { src: `demo/${fe}`, dst: 'backend', without: [`cnp/demo/${name}`] });
    assert.equal(wo.whatIf!.before.verdict, 'DENIED');
    assert.equal(wo.verdict, 'ALLOWED');
    assert.throws(() => trace(c.rt, { src: `demo/${fe}`, dst: 'backend', without: ['bogus'] }), TraceError);
    const bad = trace(c.rt, { src: `demo/${fe}`, dst: 'backend', without: ['cnp/demo/nope'] });
    assert.deepEqual(bad.whatIf!.problems, ['CiliumNetworkPolicy demo/nope: not found']);
  } finally {
    await c.rt.close();
  }
});

test('sources and destinations: label selector, node, pod IP, ICMP, an unknown name, errors', async () => {
  const c = await demo();
  try {
    const be = c.rt.podsWithLabel('demo', 'app', 'backend')[0]!;
    const beIp = String((be['status'] as { podIP: string }).podIP);
    const bySel = trace(c.rt, { src: 'demo/app=frontend', dst: beIp, reply: true });
    assert.equal(bySel.source.name, `demo/${c.rt.podsWithLabel('demo', 'app', 'frontend')[0]!.metadata.name}`);
    assert.equal(bySel.destination.name, `demo/${be.metadata.name}`);
    assert.equal(bySel.request.port, 8080, "the pod's first container port");
    assert.equal(bySel.verdict, 'ALLOWED');
    const ping = trace(c.rt, { src: 'app=frontend', dst: beIp, protocol: 'icmp', reply: true });
    assert.equal(ping.forward.tuple.icmpType, 8);
    assert.equal(ping.verdict, 'ALLOWED');
    assert.ok('outcome' in ping.reply! && ping.reply.outcome.result === 'delivered');
    const node = nodeOfPod(c, 'demo', be.metadata.name!);
    const fromNode = trace(c.rt, { src: `node/${node}`, dst: `demo/${be.metadata.name}`, reply: true });
    assert.equal(fromNode.source.identity, 1);
    assert.equal(fromNode.steps.find((s) => s.kind === 'policy')!.policy!.key.identity, 1, 'the local host is identity 1');
    assert.equal(fromNode.verdict, 'ALLOWED');
    const nx = trace(c.rt, { src: `demo/${be.metadata.name}`, dst: 'nosuchservice' });
    assert.equal(nx.forward.outcome.result, 'unresolved');
    assert.deepEqual(nx.steps.map((s) => s.kind), ['dns']);
    assert.throws(() => trace(c.rt, { src: 'demo/nope', dst: beIp }), /pods "nope" not found in namespace "demo"/);
    assert.throws(() => trace(c.rt, { src: 'node/nope', dst: beIp }), /no node named "nope"/);
    assert.throws(() => trace(c.rt, { src: 'demo/app=nothing', dst: beIp }), /no running pod matches/);
    assert.throws(() => trace(c.rt, { src: `demo/${be.metadata.name}`, dst: beIp, protocol: 'gre' as 'tcp' }), /unknown protocol "gre"/);
    assert.deepEqual(handleTraceRequest(c.rt, 'trace', { src: 1 }), { status: 400, body: { error: 'trace: expected {src, dst, port?, protocol?, httpMethod?, httpPath?, reply?, with?, without?, record?}' } });
    assert.equal(handleTraceRequest(c.rt, 'trace', { src: 'demo/nope', dst: beIp }).status, 400);
  } finally {
    await c.rt.close();
  }
});

test('the daemon route and the CLI: podpath trace (text, json) and podpath whatif', async () => {
  const home = mkdtempSync(join(tmpdir(), 'podpath-trace-'));
  const saved = process.env['PODPATH_HOME'];
  process.env['PODPATH_HOME'] = home;
  const c = await demo();
  const paths = clusterPaths('tracecli', home);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const server = new DaemonServer('tracecli', { api: c.rt.apiServer, exec: (t, a, io) => c.rt.exec(t, a, io), status: () => ({ nodes: [], pods: 0 }), trace: (k, b) => handleTraceRequest(c.rt, k, b) }, new ClockDriver(c.clock, 'fast'));
  await server.listen(paths.socket);
  try {
    const fe = c.rt.podsWithLabel('demo', 'app', 'frontend')[0]!.metadata.name!;
    let out = '';
    const w = (s: string): void => void (out += s);
    assert.equal(await traceCli(`demo/${fe}`, 'backend', { name: 'tracecli', reply: true }, w), 0);
    assert.match(out, /Request: delivered to endpoint \d+/);
    assert.match(out, /Verdict: ALLOWED\n$/);
    out = '';
    const file = join(LAB, 'deny-policy.yaml');
    await traceCli(`demo/${fe}`, 'backend', { name: 'tracecli', output: 'json', with: [file] }, w);
    const j = JSON.parse(out) as TraceResult;
    assert.equal(j.verdict, 'DENIED');
    assert.equal(j.whatIf!.before.verdict, 'ALLOWED');
    out = '';
    await whatIfCli([file], { name: 'tracecli' }, w);
    assert.match(out, new RegExp(`^What if: \\+CiliumNetworkPolicy/demo/${labDeny().metadata.name}\n`));
    assert.match(out, /DIFF-TYPE +SOURCE +DESTINATION +PORT +BEFORE +AFTER +DECIDED BY/);
    await assert.rejects(traceCli('demo/nope', 'backend', { name: 'tracecli' }, w), /pods "nope" not found/);
  } finally {
    await server.close();
    await c.rt.close();
    if (saved === undefined) delete process.env['PODPATH_HOME'];
    else process.env['PODPATH_HOME'] = saved;
    rmSync(home, { recursive: true, force: true });
  }
});
