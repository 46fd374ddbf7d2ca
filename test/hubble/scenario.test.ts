// The lab, scripted: the demo app, a policy allowing frontend → backend:8080,
// a deny policy for frontend → database:5432, and curls from a frontend pod
// across nodes. Hubble's flows come only from the datapath's events; the
// test reads them with `hubble observe` as a user would.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupResource } from '../../src/k8s/resources.js';
import { runHubble } from '../../src/cli/hubble.js';
import { flowFromJson, type Flow } from '../../src/hubble/flow.js';
import { applyCnp, nodeOf, podIp, pods, startCluster, type Cluster } from '../cluster/harness.js';


interface Lab extends Cluster {
  fe: string;
  feIp: string;
  hubble(args: string[], opts?: { node?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
}

async function lab(): Promise<Lab> {
  const c = await startCluster();
  const { rt } = c;
  rt.deployDemo();
  const policy = (name: string, spec: unknown): void => applyCnp(rt, 'demo', name, spec);
  policy('allow-frontend', { endpointSelector: { matchLabels: { app: 'backend' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] });
  policy('deny-fe-to-db', { endpointSelector: { matchLabels: { app: 'database' } }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] }] });
  const fe = pods(rt, 'demo', 'frontend')[0]!;
  const hubble = async (args: string[], opts: { node?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const code = await runHubble(args, {
      backend: () => rt.hubble.backend(opts.node),
      io: { stdout: (s) => (stdout += String(s)), stderr: (s) => (stderr += String(s)), signal: new AbortController().signal },
      now: () => c.clock.wallNow(),
    });
    return { code, stdout, stderr };
  };
  return { ...c, fe: fe.metadata.name!, feIp: podIp(fe), hubble };
}

function jsonFlows(stdout: string): Flow[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => flowFromJson(JSON.parse(l) as Record<string, unknown>));
}

test('a forwarded TCP connection across nodes, a default-deny drop and a deny-policy drop, as hubble observe prints them', async () => {
  const L = await lab();
  const { rt } = L;
  try {
    const ok = await L.exec(`demo/${L.fe}`, ['curl', '-s', 'http://backend:8080/api/users']);
    assert.equal(ok.code, 0);
    // Which backend did the socket LB pick? The TRANSLATED sock flow says.
    const j = await L.hubble(['observe', '--from-pod', `demo/${L.fe}`, '--type', 'trace-sock', '--to-port', '8080', '--last', '1', '-o', 'json']);
    const [xlate] = jsonFlows(j.stdout).filter((f) => f.verdict === 7);
    assert.ok(xlate, j.stdout + j.stderr);
    const be = xlate.destination!.pod_name!;
    const beObj = rt.cache.list(lookupResource('pods')!, 'demo').find((p) => p.metadata.name === be)!;
    assert.notEqual(nodeOf(beObj), nodeOf(rt.cache.get(lookupResource('pods')!, 'demo', L.fe)!), 'the connection crosses nodes');
    const feId = xlate.source!.identity!;
    const beId = xlate.destination!.identity!;

    const out = await L.hubble(['observe', '--ip', L.feIp, '--not', '--port', '53', '--type', 'trace', '--type', 'policy-verdict', '--last', '100', '--print-policy-names']);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.split('\n').filter(Boolean);
    const port = /:(\d+) \(ID/.exec(lines[0]!)![1];
    const FE = `demo/${L.fe}:${port} (ID:${feId})`;
    const BE = `demo/${be}:8080 (ID:${beId})`;
    const body = lines.map((l) => l.slice(l.indexOf(': ') + 2));
    assert.deepEqual(body.slice(0, 3), [
      `${FE} -> ${BE} to-overlay FORWARDED (TCP Flags: SYN)`,
      `${FE} -> ${BE} policy-verdict:L3-L4 INGRESS ALLOWED BY allow-frontend (CiliumNetworkPolicy) (TCP Flags: SYN)`,
      `${FE} -> ${BE} to-endpoint FORWARDED (TCP Flags: SYN)`,
    ]);
    // Replies print with the arrow reversed and the initiator still on the left.
    assert.ok(body.includes(`${FE} <- ${BE} to-overlay FORWARDED (TCP Flags: SYN, ACK)`), out.stdout);
    assert.ok(body.includes(`${FE} <- ${BE} to-endpoint FORWARDED (TCP Flags: SYN, ACK)`), out.stdout);
    assert.ok(body.includes(`${FE} -> ${BE} to-endpoint FORWARDED (TCP Flags: ACK, PSH)`), out.stdout);
    assert.ok(body.includes(`${FE} <- ${BE} to-endpoint FORWARDED (TCP Flags: ACK, PSH)`), out.stdout);
    for (const l of lines) assert.match(l, /^Jan {2}1 \d\d:\d\d:\d\d\.\d{3}: /, 'UTC StampMilli');

    // The same connection in JSON: the SYN delivered to the backend and its reply delivered to the frontend.
    const jsOut = (await L.hubble(['observe', '--ip', L.feIp, '--not', '--port', '53', '--type', 'trace:to-endpoint', '--tcp-flags', 'SYN', '--last', '10', '-o', 'json'])).stdout;
    const js = jsonFlows(jsOut);
    const syn = js.find((f) => f.l4?.TCP?.flags?.SYN && !f.l4.TCP.flags.ACK)!;
    const rawSyn = jsOut.split('\n').map((l) => l && (JSON.parse(l) as { flow: Record<string, unknown> }).flow).find((f) => f && f['uuid'] === syn.uuid) as Record<string, unknown>;
    assert.deepEqual(Object.keys(rawSyn), ['time', 'uuid', 'emitter', 'verdict', 'ethernet', 'IP', 'l4', 'source', 'destination', 'Type', 'node_name', 'node_labels', 'event_type', 'traffic_direction', 'trace_observation_point', 'trace_reason', 'is_reply', 'interface', 'Summary']);
    assert.equal(syn.node_name, nodeOf(beObj));
    assert.ok(syn.destination!.ID, 'the backend is local to the reporting node: it has an endpoint ID');
    assert.equal(syn.source!.ID, undefined, 'the frontend is remote: no ID');
    assert.deepEqual(syn.destination!.workloads, [{ name: 'backend', kind: 'Deployment' }]);
    assert.ok(syn.destination!.labels!.includes('k8s:app=backend'));
    assert.equal(syn.destination!.cluster_name, 'default');
    assert.match(syn.interface!.name, /^lxc[0-9a-f]{12}$/);
    const line = (await L.hubble(['observe', '--uuid', syn.uuid, '--last', '1', '-o', 'json'])).stdout.trim();
    assert.match(line, /^\{"flow":\{"time":"2026-01-01T\d\d:\d\d:\d\d\.\d+Z","uuid":"[0-9a-f-]{36}","emitter":\{"name":"Hubble","version":"1\.19\.4\+g[^"]+"\},"verdict":"FORWARDED","ethernet":\{"source":"([0-9a-f]{2}:){5}[0-9a-f]{2}","destination":"([0-9a-f]{2}:){5}[0-9a-f]{2}"\},"IP":\{"source":"10\.244\.\d+\.\d+","destination":"10\.244\.\d+\.\d+","ipVersion":"IPv4"\},"l4":\{"TCP":\{"source_port":\d+,"destination_port":8080,"flags":\{"SYN":true\}\}\},/);
    assert.match(line, /,"Type":"L3_L4","node_name":"kind-worker\d?","node_labels":\["beta.kubernetes.io\/arch=amd64",.*\],"event_type":\{"type":4\},"traffic_direction":"INGRESS","trace_observation_point":"TO_ENDPOINT","trace_reason":"NEW","is_reply":false,"interface":\{"index":\d+,"name":"lxc[0-9a-f]{12}"\},"Summary":"TCP Flags: SYN"\},"node_name":"kind-worker\d?","time":"[^"]+"\}$/);
    const synAck = js.find((f) => f.l4?.TCP?.flags?.SYN && f.l4.TCP.flags.ACK)!;
    assert.equal(synAck.reply, true);
    assert.equal(synAck.is_reply, true);
    assert.equal(synAck.trace_reason, 3);
    assert.equal(synAck.traffic_direction, 2, 'the reply of an egress connection is still EGRESS');

    // A deny policy: the policy-verdict line, then the drop line; names from the policy engine.
    const denied = await L.exec(`demo/${L.fe}`, ['curl', '-s', '-m', '1', 'http://database:5432/']);
    assert.equal(denied.code, 28);
    const db = pods(rt, 'demo', 'database')[0]!;
    const dbId = (rt.cache.get(lookupResource('ciliumendpoints.cilium.io')!, 'demo', db.metadata.name!)?.['status'] as { identity: { id: number } }).identity.id;
    const drops = await L.hubble(['observe', '--to-pod', `demo/${db.metadata.name}`, '--verdict', 'DROPPED', '--print-policy-names', '--last', '2']);
    const dport = /:(\d+) \(ID/.exec(drops.stdout)![1];
    const DB = `demo/${db.metadata.name}:5432 (ID:${dbId})`;
    assert.deepEqual(
      drops.stdout.split('\n').filter(Boolean).map((l) => l.slice(l.indexOf(': ') + 2)),
      [`demo/${L.fe}:${dport} (ID:${feId}) <> ${DB} policy-verdict:L3-L4 INGRESS DENIED BY deny-fe-to-db (CiliumNetworkPolicy) (TCP Flags: SYN)`, `demo/${L.fe}:${dport} (ID:${feId}) <> ${DB} Policy denied by denylist DROPPED (TCP Flags: SYN)`],
    );
    const [pv, drop] = jsonFlows((await L.hubble(['observe', '--to-pod', `demo/${db.metadata.name}`, '--verdict', 'DROPPED', '--last', '2', '-o', 'json'])).stdout);
    const rawPv = (JSON.parse((await L.hubble(['observe', '--uuid', pv!.uuid, '--last', '1', '-o', 'json'])).stdout) as { flow: Record<string, unknown> }).flow;
    assert.deepEqual(Object.keys(rawPv).slice(-6), ['traffic_direction', 'policy_match_type', 'drop_reason_desc', 'Summary', 'ingress_denied_by', 'policy_log']);
    assert.equal(pv!.is_reply, undefined, 'denials have no is_reply');
    assert.deepEqual(pv!.event_type, { type: 5 });
    assert.equal(pv!.ingress_denied_by![0]!.name, 'deny-fe-to-db');
    assert.equal(pv!.ingress_denied_by![0]!.kind, 'CiliumNetworkPolicy');
    assert.deepEqual(drop!.event_type, { type: 1, sub_type: 181 });
    assert.equal(drop!.drop_reason_desc, 181);
    assert.equal(drop!.file!.name, 'bpf_lxc.c');
    assert.equal(drop!.traffic_direction, 1);

    // Default deny (nothing allows 9090 on backend): POLICY_DENIED, match none, no policy names.
    await L.exec(`demo/${L.fe}`, ['curl', '-s', '-m', '1', `http://${podIp(beObj)}:9090/`]);
    const dd = await L.hubble(['observe', '--to-port', '9090', '--verdict', 'DROPPED', '--print-policy-names', '--last', '2']);
    assert.deepEqual(
      dd.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^.*?: /, '').replace(/:\d+ \(ID/, ':P (ID')),
      [`demo/${L.fe}:P (ID:${feId}) <> demo/${be}:9090 (ID:${beId}) policy-verdict:none INGRESS DENIED (TCP Flags: SYN)`, `demo/${L.fe}:P (ID:${feId}) <> demo/${be}:9090 (ID:${beId}) Policy denied DROPPED (TCP Flags: SYN)`],
    );

    // `hubble` inside the backend node's cilium pod sees that node only; status says no connected nodes.
    const inPod = await L.hubble(['observe', '--last', '1000', '-o', 'json'], { node: nodeOf(beObj) });
    assert.ok(jsonFlows(inPod.stdout).every((f) => f.node_name === nodeOf(beObj)));
    const st = await L.hubble(['status'], { node: nodeOf(beObj) });
    assert.match(st.stdout, /^Healthcheck \(via unix:\/\/\/var\/run\/cilium\/hubble\.sock\): Ok\nCurrent\/Max Flows: \d+\/4,095 \(\d+\.\d\d%\)\nFlows\/s: [\d.]+\n$/);
    const relaySt = await L.hubble(['status']);
    assert.match(relaySt.stdout, /^Healthcheck \(via localhost:4245\): Ok\nCurrent\/Max Flows: \d+\/16,380 \(\d+\.\d\d%\)\nFlows\/s: [\d.]+\nConnected Nodes: 4\/4\n$/);
    const nodes = await L.hubble(['list', 'nodes']);
    assert.match(nodes.stdout, /^NAME {17}STATUS {6}AGE +FLOWS\/S +CURRENT\/MAX-FLOWS\nkind-control-plane {3}Connected {3}/);

    // The same flows through the exec'd program in a cilium pod (kubectl exec ds/cilium -- hubble observe).
    const cilium = pods(rt, 'kube-system', 'cilium').find((p) => nodeOf(p) === nodeOf(beObj))!;
    const viaExec = await L.exec(`kube-system/${cilium.metadata.name}`, ['hubble', 'observe', '--to-port', '9090', '--last', '1']);
    assert.equal(viaExec.code, 0, viaExec.stderr);
    assert.match(viaExec.stdout, /Policy denied DROPPED \(TCP Flags: SYN\)\n$/);

    // Metrics, counted from the same flows and from cilium_metrics.
    const m = await rt.hubble.metrics.text();
    assert.match(m, /^hubble_drop_total\{protocol="TCP",reason="POLICY_DENY"\} [1-9]/m);
    assert.match(m, /^hubble_drop_total\{protocol="TCP",reason="POLICY_DENIED"\} [1-9]/m);
    assert.match(m, /^hubble_flows_processed_total\{protocol="TCP",subtype="to-endpoint",type="Trace",verdict="FORWARDED"\} [1-9]/m);
    assert.match(m, /^hubble_policy_verdicts_total\{action="forwarded",direction="ingress",match="l3-l4"\} 1$/m);
    assert.match(m, /^hubble_tcp_flags_total\{family="IPv4",flag="SYN-ACK"\} [1-9]/m);
    assert.match(m, /^hubble_port_distribution_total\{port="8080",protocol="TCP"\} [1-9]/m);
    assert.match(m, /^cilium_drop_count_total\{direction="INGRESS",reason="Policy denied by denylist"\} [1-9]/m);
    assert.match(m, /^cilium_forward_count_total\{direction="EGRESS"\} [1-9]/m);
    assert.match(m, /^# TYPE hubble_http_request_duration_seconds histogram$/m);
  } finally {
    await rt.close();
  }
});

test('--follow delivers a flow at the virtual instant its packet was handled, and stops on Ctrl-C', async () => {
  const L = await lab();
  const { rt, clock } = L;
  try {
    const seen: { at: number; line: string }[] = [];
    const ctl = new AbortController();
    const follow = runHubble(['observe', '--follow', '--to-port', '8080', '--type', 'trace:to-endpoint'], {
      backend: () => rt.hubble.relay,
      io: { stdout: (s) => seen.push({ at: clock.now(), line: String(s) }), stderr: () => {}, signal: ctl.signal },
      now: () => clock.wallNow(),
    });
    // Event times of the datapath, in the order they happen on the virtual clock.
    const delivered: number[] = [];
    const untap = rt.hubble.tapEvents((_n, e) => {
      if (e.type === 'trace' && e.obsPoint === 0) delivered.push(e.timeMs);
    });
    const r = await L.exec(`demo/${L.fe}`, ['curl', '-s', 'http://backend:8080/api/users']);
    untap();
    assert.equal(r.code, 0);
    assert.ok(seen.length >= 2, 'no history: only the new connection');
    assert.match(seen[0]!.line, / -> demo\/backend-\S+:8080 \(ID:\d+\) to-endpoint FORWARDED \(TCP Flags: SYN\)\n$/);
    // Each line was written while the clock still stood at a to-endpoint event's time: no virtual delay at all.
    const eventTimes = new Set(delivered);
    for (const s of seen) assert.ok(eventTimes.has(s.at), `printed at ${s.at}, not at an event time`);
    assert.equal(seen[0]!.at, Math.min(...delivered.filter((t) => t >= seen[0]!.at)));
    ctl.abort();
    assert.equal(await follow, 0);
    const before = seen.length;
    await L.exec(`demo/${L.fe}`, ['curl', '-s', 'http://backend:8080/api/users']);
    assert.equal(seen.length, before, 'nothing after the stream ended');
    // --last N --follow: N flows, then the stream.
    const lines: string[] = [];
    const ctl2 = new AbortController();
    const f2 = runHubble(['observe', '--last', '2', '--follow', '--to-port', '8080', '--type', 'trace:to-endpoint'], {
      backend: () => rt.hubble.relay,
      io: { stdout: (s) => lines.push(String(s)), stderr: () => {}, signal: ctl2.signal },
    });
    await new Promise((res) => setImmediate(res));
    // --last counts per node: each node holding such flows gives up to 2 (which backends the socket LB picked varies).
    const all = jsonFlows((await L.hubble(['observe', '--to-port', '8080', '--type', 'trace:to-endpoint', '-o', 'json'])).stdout);
    const perNode = new Map<string, number>();
    for (const f of all) perNode.set(f.node_name, (perNode.get(f.node_name) ?? 0) + 1);
    const expected = [...perNode.values()].reduce((n, k) => n + Math.min(2, k), 0);
    assert.ok(perNode.size >= 1);
    assert.equal(lines.length, expected, '--last 2 per node');
    ctl2.abort();
    await f2;
  } finally {
    await rt.close();
  }
});
