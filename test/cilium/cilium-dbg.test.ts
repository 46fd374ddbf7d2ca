// `cilium-dbg` in an agent pod: node-local tables in Cilium 1.16/1.17 shapes,
// read from the agent and from the maps' bytes, and cobra's errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, pods } from '../cluster/harness.js';
import { ciliumCommand } from '../../src/cli/cilium/command.js';
import type { CiliumNodeContext } from '../../src/cli/cilium/context.js';
import type { ClusterRuntime } from '../../src/cluster/runtime.js';
import type { PodEnv } from '../../src/apps/types.js';
import { drive } from '../../src/util/drive.js';

function contextFor(rt: ClusterRuntime, nodeName: string): CiliumNodeContext {
  const n = rt.node(nodeName)!;
  return {
    nodeName,
    agent: n.agent,
    dp: n.dp,
    deviceName: (i) => n.kernel.deviceName(i),
    settings: { clusterName: 'kind', policyEnforcementMode: 'default', policyAuditMode: false, socketLB: true, monitorAggregation: 'medium', kubernetesVersion: 'v1.32.0' },
  };
}

async function run(ctx: CiliumNodeContext, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await ciliumCommand(ctx)({} as PodEnv, ['cilium-dbg', ...argv], {
    stdout: (c) => (out += String(c)),
    stderr: (c) => (err += String(c)),
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

test('cilium-dbg tables on the backend’s node after a curl', async () => {
  const c = await startCluster();
  try {
    c.rt.deployDemo();
    const [frontend] = pods(c.rt, 'demo', 'frontend');
    const backend = pods(c.rt, 'demo', 'backend')[0]!;
    const backendIp = String((backend['status'] as { podIP: string }).podIP);
    // To this backend pod (not through the Service, whose socket LB picks at random).
    const r = await c.exec(`demo/${frontend!.metadata.name}`, ['curl', '-s', `http://${backendIp}:8080/api/users`]);
    assert.equal(r.code, 0);
    // Let the connection's FINs cross the wire, as a second of wall time would.
    await drive(c.clock, new Promise<void>((r) => c.clock.setTimer(1000, r)));
    const node = (backend['spec'] as { nodeName: string }).nodeName;
    const ctx = contextFor(c.rt, node);

    const eps = await run(ctx, 'endpoint', 'list');
    assert.equal(eps.code, 0);
    const lines = eps.out.split('\n');
    assert.match(lines[0]!, /^ENDPOINT {3,}POLICY \(ingress\) {3,}POLICY \(egress\) {3,}IDENTITY {3,}LABELS \(source:key\[=value\]\) {3,}IPv6 {3,}IPv4 {3,}STATUS {3}$/);
    assert.match(lines[1]!, /^ {3,}ENFORCEMENT {3,}ENFORCEMENT {3,}/);
    assert.ok(lines.some((l) => /^\d+ +Disabled +Disabled +1 +k8s:node-role\.kubernetes\.io\/control-plane|^\d+ +Disabled +Disabled +1 +reserved:host/.test(l)), 'host endpoint with identity 1');
    assert.ok(lines.some((l) => /^\d+ +Disabled +Disabled +\d{3,5} +k8s:app=backend +10\.244\.\d+\.\d+ +ready +$/.test(l)), eps.out);

    const ids = await run(ctx, 'identity', 'list');
    assert.match(ids.out, /^ID {6}LABELS +\n1 {7}reserved:host +\n2 {7}reserved:world +\n/);
    assert.match(ids.out, /\n7 {7}reserved:kube-apiserver +\n {8}reserved:remote-node +\n/);

    const svc = await run(ctx, 'service', 'list');
    assert.match(svc.out, /^ID +Frontend +Service Type +Backend +\n/);
    assert.match(svc.out, /\n\d+ +10\.96\.0\.10:53 +ClusterIP +1 => 10\.244\.\d+\.\d+:53 \(active\) +\n/);

    const ct = await run(ctx, 'bpf', 'ct', 'list', 'global');
    assert.match(ct.out, /^TCP IN 10\.244\.\d+\.\d+:\d+ -> 10\.244\.\d+\.\d+:8080 expires=\d+ Packets=0 Bytes=0 RxFlagsSeen=0x1b LastRxReport=\d+ TxFlagsSeen=0x1b LastTxReport=\d+ Flags=0x0413 \[ RxClosing TxClosing SeenNonSyn FromTunnel \] RevNAT=0 SourceSecurityID=\d+ IfIndex=0 BackendID=0 $/m);

    const lb = await run(ctx, 'bpf', 'lb', 'list');
    assert.match(lb.out, /^SERVICE ADDRESS {3,}BACKEND ADDRESS \(REVNAT_ID\) \(SLOT\)\n/);
    assert.match(lb.out, /\n10\.96\.0\.10:53 \(0\) +0\.0\.0\.0:0 \(\d+\) \(0\) \[ClusterIP, non-routable\]\n/);

    const ipc = await run(ctx, 'bpf', 'ipcache', 'list');
    assert.match(ipc.out, /\n0\.0\.0\.0\/0 +identity=2 encryptkey=0 tunnelendpoint=0\.0\.0\.0, flags=<none>\n/);

    const met = await run(ctx, 'bpf', 'metrics', 'list');
    assert.match(met.out, /^REASON +DIRECTION +PACKETS +BYTES +LINE +FILE\n/);
    assert.match(met.out, /\nSuccess +INGRESS +\d+ +\d+ +\d+ +bpf_lxc\.c\n/);

    const ml = await run(ctx, 'metrics', 'list', '-p', 'forward');
    assert.match(ml.out, /^Metric +Labels +Value\ncilium_forward_bytes_total +direction="EGRESS" +\d+\.000000\n/);

    const ep = JSON.parse((await run(ctx, 'endpoint', 'get', String(c.rt.node(node)!.agent.endpointList().find((e) => e.podName === backend.metadata.name)!.id))).out);
    assert.equal(ep[0].status.identity.labels.includes('k8s:app=backend'), true);

    const pol = await run(ctx, 'policy', 'get');
    assert.equal(pol.out, '[]\nRevision: 1\n');

    const cfg = await run(ctx, 'config');
    assert.match(cfg.out, /^##### Read-write configurations #####\nConntrackAccounting +: Disabled\n/);
    assert.match(cfg.out, /\nPolicyEnforcement +: default\n$/);

    const st = await run(ctx, 'status');
    assert.match(st.out, /^KVStore: {17}Ok {3}Disabled\n/);
    assert.match(st.out, /\nRouting: {17}Network: Tunnel \[vxlan\] {3}Host: Legacy\n/);
  } finally {
    await c.rt.close();
  }
});

test('cobra errors: unknown commands and flags', async () => {
  const c = await startCluster();
  try {
    const ctx = contextFor(c.rt, c.rt.nodes[1]!.name);
    const u = await run(ctx, 'bogus');
    assert.equal(u.code, 1);
    assert.equal(u.err, `Error: unknown command "bogus" for "cilium-dbg"\nRun 'cilium-dbg --help' for usage.\n`);
    const t = await run(ctx, 'policy', 'trace');
    assert.equal(t.code, 1);
    const f = await run(ctx, 'bpf', 'ct', 'list', 'global', '--bogus');
    assert.equal(f.err, 'Error: unknown flag: --bogus\n');
    const m = await run(ctx, 'monitor', '--type', 'nope');
    assert.match(m.err, /^Error: Unknown type \(nope\)\. Please use one of the following ones map\[/);
  } finally {
    await c.rt.close();
  }
});

test('kubectl exec ds/cilium -- cilium-dbg reaches that node’s agent through the kubelet', async () => {
  const c = await startCluster();
  try {
    const agentPod = pods(c.rt, 'kube-system').find((p) => p.metadata.name?.startsWith('cilium-') && !p.metadata.name.startsWith('cilium-operator'))!;
    const node = (agentPod['spec'] as { nodeName: string }).nodeName;
    const r = await c.exec(`kube-system/${agentPod.metadata.name}`, ['cilium-dbg', 'bpf', 'tunnel', 'list']);
    assert.equal(r.code, 0, r.stderr);
    const others = c.rt.nodes.filter((n) => n.name !== node);
    // Every other node's pod CIDR is in this node's tunnel map, its own is not.
    assert.equal(r.stdout.trim().split('\n').length, 1 + others.length, r.stdout);
    const v = await c.exec(`kube-system/${agentPod.metadata.name}`, ['cilium', 'version']);
    assert.match(v.stdout, /^Client: 1\.17\.0 /);
    const plain = await c.exec(`kube-system/${agentPod.metadata.name}`, ['cilium', 'versions']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /unknown command "versions" for "cilium"/);
  } finally {
    await c.rt.close();
  }
});

test('hubble in an agent pod sees its node only, and says where the matching flows are when it has none', async () => {
  const c = await startCluster();
  try {
    c.rt.deployDemo();
    const [frontend] = pods(c.rt, 'demo', 'frontend');
    const backend = pods(c.rt, 'demo', 'backend')[0]!;
    const backendNode = (backend['spec'] as { nodeName: string }).nodeName;
    const r = await c.exec(`demo/${frontend!.metadata.name}`, ['curl', '-s', `http://${String((backend['status'] as { podIP: string }).podIP)}:8080/`]);
    assert.equal(r.code, 0);
    const agents = pods(c.rt, 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'cilium');
    const on = (node: string) => `kube-system/${agents.find((p) => (p['spec'] as { nodeName: string }).nodeName === node)!.metadata.name}`;
    const args = ['hubble', 'observe', '--to-port', '8080', '--type', 'trace:to-endpoint'];
    const there = await c.exec(on(backendNode), args);
    assert.match(there.stdout, /to-endpoint FORWARDED/);
    assert.equal(there.stderr, '');
    const elsewhere = c.rt.nodes.find((n) => n.role === 'worker' && n.name !== backendNode && n.name !== (frontend!['spec'] as { nodeName: string }).nodeName)!.name;
    const here = await c.exec(on(elsewhere), args);
    assert.equal(here.code, 0);
    assert.equal(here.stdout, '');
    assert.equal(here.stderr, `hint: no matching flows on this node (${elsewhere}); matching flows are on ${backendNode}: run hubble in the cilium pod there, or through the relay (podpath hubble observe ...)\n`);
  } finally {
    await c.rt.close();
  }
});
