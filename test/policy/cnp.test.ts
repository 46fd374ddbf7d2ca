// CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy semantics, reference
// §3, §4, §7, §8, §9 and §13, each checked with real traffic between pods
// (curl: ok = answered, dropped = timed out, refused = reached but nothing
// listens; agnhost connect for UDP; ping for ICMP).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import { policyMapName } from '../../src/datapath/maps.js';
import { DropReason } from '../../src/datapath/drop.js';
import { ccnp, cnp, matrix, policyCluster, reach, type PolicyCluster } from './harness.js';

const W1 = 'kind-worker';
const W2 = 'kind-worker2';
const tcp = (port: number | string, protocol = 'TCP') => ({ ports: [{ port: String(port), protocol }] });

function server(c: PolicyCluster, name: string, namespace: string, node: string, ports = [{ port: 80 }]): string {
  return c.pod(name, { namespace, labels: { app: 'server' }, node, ports });
}

test('§3 namespace pinning: a CNP selects and admits its own namespace unless a selector names the namespace; a CCNP spans namespaces', async () => {
  const c = await policyCluster();
  try {
    c.namespace('ns-a');
    c.namespace('ns-b');
    const sa = server(c, 'server', 'ns-a', W1);
    const sb = server(c, 'server', 'ns-b', W2);
    c.pod('client', { namespace: 'ns-a', labels: { app: 'client' }, node: W2 });
    c.pod('client', { namespace: 'ns-b', labels: { app: 'client' }, node: W1 });
    c.pod('other', { namespace: 'ns-a', labels: { app: 'other' }, node: W1 });
    const probes: [string, string][] = [
      ['ns-a/client', `http://${sa}/`],
      ['ns-b/client', `http://${sa}/`],
      ['ns-a/other', `http://${sa}/`],
      ['ns-b/client', `http://${sb}/`],
      ['ns-a/other', `http://${sb}/`],
    ];
    const policy = (ingress: unknown[], endpointSelector: Record<string, unknown> = { matchLabels: { app: 'server' } }) => cnp('pin', { endpointSelector, ingress }, 'ns-a');

    // The subject's written namespace is overwritten: ns-b's server stays unselected.
    c.apply(policy([{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }], { matchLabels: { app: 'server', 'k8s:io.kubernetes.pod.namespace': 'ns-b' } }));
    assert.deepEqual(await matrix(c, probes), [
      `ns-a/client http://${sa}/ ok`,
      `ns-b/client http://${sa}/ dropped`,
      `ns-a/other http://${sa}/ dropped`,
      `ns-b/client http://${sb}/ ok`,
      `ns-a/other http://${sb}/ ok`,
    ]);
    // fromEndpoints: [{}] is "every pod of ns-a", not everything.
    c.apply(policy([{ fromEndpoints: [{}] }]));
    assert.deepEqual((await matrix(c, probes.slice(0, 3))).map((l) => l.split(' ').pop()), ['ok', 'dropped', 'ok']);
    // Naming the namespace key lifts the pin.
    c.apply(policy([{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'ns-b' } }] }]));
    assert.deepEqual((await matrix(c, probes.slice(0, 3))).map((l) => l.split(' ').pop()), ['dropped', 'ok', 'dropped']);
    c.apply(policy([{ fromEndpoints: [{ matchLabels: { app: 'client' }, matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'Exists' }] }] }]));
    assert.deepEqual((await matrix(c, probes.slice(0, 3))).map((l) => l.split(' ').pop()), ['ok', 'ok', 'dropped']);
    c.remove('CiliumNetworkPolicy', 'pin', 'ns-a');

    // A CCNP selects servers in every namespace and its peers are any namespace's pods.
    c.apply(ccnp('clients-everywhere', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] }));
    assert.deepEqual(await matrix(c, probes), [
      `ns-a/client http://${sa}/ ok`,
      `ns-b/client http://${sa}/ ok`,
      `ns-a/other http://${sa}/ dropped`,
      `ns-b/client http://${sb}/ ok`,
      `ns-a/other http://${sb}/ dropped`,
    ]);
    // `cilium policy get` shows the rewritten selectors.
    const rules = c.engine.policyGet().rules as { endpointSelector: unknown; ingress: { fromEndpoints: unknown[] }[] }[];
    assert.deepEqual(rules[0]!.endpointSelector, { matchLabels: { 'any:app': 'server' } });
    assert.deepEqual(rules[0]!.ingress[0]!.fromEndpoints, [{ matchLabels: { 'any:app': 'client' }, matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' }] }]);
  } finally {
    await c.close();
  }
});

test('§4 peers: {} denies all, L4 without L3 allows every peer, an empty peer list selects nothing, rules and policies are unioned', async () => {
  const c = await policyCluster();
  try {
    const s = c.pod('server', { labels: { app: 'server' }, node: W1, ports: [{ port: 80 }, { port: 8080 }] });
    c.pod('client', { labels: { app: 'client' }, node: W2 });
    c.pod('other', { labels: { app: 'other' }, node: W1 });
    const probes: [string, string][] = [
      ['default/client', `http://${s}/`],
      ['default/client', `http://${s}:8080/`],
      ['default/other', `http://${s}/`],
      ['default/other', `http://${s}:8080/`],
    ];
    const outcome = async () => (await matrix(c, probes)).map((l) => l.split(' ').pop());
    const sel = { matchLabels: { app: 'server' } };

    c.apply(cnp('p', { endpointSelector: sel, ingress: [{}] }));
    assert.deepEqual(await outcome(), ['dropped', 'dropped', 'dropped', 'dropped'], 'ingress: [{}] is the deny-all idiom');
    assert.equal((await c.exec(`node/${W1}`, ['curl', '-s', '-m', '2', `http://${s}/`])).code, 0, 'the local node still gets in');

    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ toPorts: [tcp(80)] }] }));
    assert.deepEqual(await outcome(), ['ok', 'dropped', 'ok', 'dropped'], 'L4 without L3: every peer on that port');

    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ fromEndpoints: [], toPorts: [tcp(80)] }] }));
    assert.deepEqual(await outcome(), ['dropped', 'dropped', 'dropped', 'dropped'], 'fromEndpoints: [] selects nothing');

    c.apply(cnp('p', { endpointSelector: sel, ingress: [] }));
    assert.deepEqual(await outcome(), ['ok', 'ok', 'ok', 'ok'], 'ingress: [] is no ingress section at all');

    c.apply(
      cnp('p', {
        endpointSelector: sel,
        ingress: [
          { fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp(80)] },
          { fromEndpoints: [{ matchLabels: { app: 'other' } }], toPorts: [tcp(8080)] },
        ],
      }),
    );
    assert.deepEqual(await outcome(), ['ok', 'dropped', 'dropped', 'ok'], 'two rules: union');

    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp(80)] }] }));
    c.apply(cnp('q', { endpointSelector: sel, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'other' } }] }] }));
    assert.deepEqual(await outcome(), ['ok', 'dropped', 'ok', 'ok'], 'two policies: union (q is L3-only: every port)');
  } finally {
    await c.close();
  }
});

test('§7 ports: port ranges as LPM prefixes, ANY = TCP+UDP, UDP only, named ports both ways, L3-only carries ICMP, backend port after the Service', async () => {
  const c = await policyCluster();
  try {
    const ports = [{ port: 80, name: 'web' }, { port: 81 }, { port: 8085 }, { port: 8095 }, { port: 81, protocol: 'UDP' }, { port: 5353, protocol: 'UDP' }];
    const s = c.pod('server', { labels: { app: 'server' }, node: W1, ports });
    c.pod('client', { labels: { app: 'client' }, node: W2 });
    const sel = { matchLabels: { app: 'server' } };
    const from = { fromEndpoints: [{ matchLabels: { app: 'client' } }] };
    const tcpOutcome = async (list: number[]) => Promise.all(list.map((p) => reach(c, 'default/client', `http://${s}:${p}/`)));

    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [{ ports: [{ port: '8080', endPort: 8090, protocol: 'TCP' }] }] }] }));
    assert.deepEqual(await tcpOutcome([8085, 8095, 80]), ['ok', 'dropped', 'dropped']);
    // The range sits in the map as aligned prefixes (8080/28, 8088/29 → 8080-8095 would be too wide; 8080-8087, 8088-8089, 8090).
    const ep = c.rt.node(W1)!.agent.endpointOf('default', 'server')!;
    const rows = c.engine.describePolicyMap(c.rt.node(W1)!.dp.maps.get(policyMapName(ep.id))!);
    assert.deepEqual(
      rows.filter((r) => r.direction === 'ingress' && r.proto === 6).map((r) => `${r.portProto} prefix ${r.prefix}`),
      ['8080-8087/TCP prefix 21', '8088-8089/TCP prefix 23', '8090/TCP prefix 24'],
    );

    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [tcp(81, 'ANY')] }] }));
    assert.deepEqual(await tcpOutcome([81, 80]), ['ok', 'dropped']);
    assert.equal(await c.connect('default/client', `${s}:81`, 'udp'), '', 'ANY includes UDP');

    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [tcp(5353, 'UDP')] }] }));
    assert.equal(await c.connect('default/client', `${s}:5353`, 'udp'), '');
    assert.equal(await c.connect('default/client', `${s}:81`, 'udp'), 'TIMEOUT');
    assert.deepEqual(await tcpOutcome([81]), ['dropped']);

    // Named port on ingress: the selected pod's own container port "web".
    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [tcp('web')] }] }));
    assert.deepEqual(await tcpOutcome([80, 81]), ['ok', 'dropped']);

    // Named port on egress: resolved against the destination pods' ports.
    c.remove('CiliumNetworkPolicy', 'p');
    c.apply(cnp('e', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toEndpoints: [sel], toPorts: [tcp('web')] }] }));
    assert.deepEqual(await tcpOutcome([80, 81]), ['ok', 'dropped']);
    c.remove('CiliumNetworkPolicy', 'e');

    // ICMP: an L3-only rule allows ping, a rule with ports does not.
    const ping = async () => (await c.exec('default/client', ['ping', '-c', '1', '-W', '1', s])).code;
    c.apply(cnp('p', { endpointSelector: sel, ingress: [from] }));
    assert.equal(await ping(), 0);
    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [tcp(80)] }] }));
    assert.notEqual(await ping(), 0);
    // icmps: the entry Cilium writes (ICMP, type 8) is in the map.
    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, icmps: [{ fields: [{ type: 8, family: 'IPv4' }] }] }] }));
    const icmp = c.engine.describePolicyMap(c.rt.node(W1)!.dp.maps.get(policyMapName(ep.id))!).filter((r) => r.proto === 1);
    assert.deepEqual(
      icmp.map((r) => `${r.direction} ${r.portProto}`),
      ['ingress 8/ICMP'],
    );

    // Policies see the backend and its target port, not the Service.
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'server' }, ports: [{ port: 80, targetPort: 8085 }] } };
    assert.ok(c.rt.api.create(R.services, 'default', svc).ok);
    const vip = String((c.rt.cache.get(R.services, 'default', 'web')!['spec'] as { clusterIP: string }).clusterIP);
    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [tcp(8085)] }] }));
    assert.equal(await reach(c, 'default/client', `http://${vip}/`), 'ok', 'service port 80 → allowed target port 8085');
    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [tcp(80)] }] }));
    assert.equal(await reach(c, 'default/client', `http://${vip}/`), 'dropped', 'allowing the service port does not allow the target port');
    assert.equal(await reach(c, 'default/client', `http://${s}/`), 'ok');
  } finally {
    await c.close();
  }
});

test('§7 icmps: ping is allowed by an icmps rule for type 8 and dropped without it; the verdict names the ICMP type as the port', async () => {
  const c = await policyCluster();
  try {
    const s = server(c, 'server', 'default', W1);
    c.pod('client', { labels: { app: 'client' }, node: W2 });
    const ping = async (): Promise<number> => (await c.exec('default/client', ['ping', '-c', '1', '-W', '2', s])).code;
    const sel = { matchLabels: { app: 'server' } };
    const from = { fromEndpoints: [{ matchLabels: { app: 'client' } }] };
    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, toPorts: [tcp(80)] }] }));
    assert.equal(await ping(), 1, 'only TCP 80 is allowed: echo requests are dropped');
    c.apply(cnp('p', { endpointSelector: sel, ingress: [{ ...from, icmps: [{ fields: [{ type: 8, family: 'IPv4' }] }] }] }));
    c.verdicts();
    assert.equal(await ping(), 0, 'an icmps rule for EchoRequest lets ping through (the reply rides conntrack)');
    const v = c.verdicts().find((e) => e.proto === 1)!;
    assert.equal(v.dport, 8);
    assert.equal(v.verdict, 0);
  } finally {
    await c.close();
  }
});

test('§8 default deny: deny-only policies isolate; enableDefaultDeny false does not; directions are independent', async () => {
  const c = await policyCluster();
  try {
    const s = c.pod('server', { labels: { app: 'server' }, node: W1, ports: [{ port: 80 }, { port: 81 }] });
    const cl = c.pod('client', { labels: { app: 'client' }, node: W2 });
    c.pod('other', { labels: { app: 'other' }, node: W2 });
    const sel = { matchLabels: { app: 'server' } };
    const probes: [string, string][] = [
      ['default/client', `http://${s}:80/`],
      ['default/client', `http://${s}:81/`],
      ['default/other', `http://${s}:80/`],
      ['default/other', `http://${s}:81/`],
    ];
    const outcome = async () => (await matrix(c, probes)).map((l) => l.split(' ').pop());
    const denyOther80 = { ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'other' } }], toPorts: [tcp(80)] }] };

    c.apply(cnp('deny', { endpointSelector: sel, ...denyOther80 }));
    assert.deepEqual(await outcome(), ['dropped', 'dropped', 'dropped', 'dropped'], 'a deny-only policy puts the endpoint in default deny');

    c.apply(cnp('deny', { endpointSelector: sel, enableDefaultDeny: { ingress: false }, ...denyOther80 }));
    c.drops();
    assert.deepEqual(await outcome(), ['ok', 'ok', 'dropped', 'ok'], 'enableDefaultDeny.ingress false: only the deny applies');
    assert.ok(c.drops().some((d) => d.reason === DropReason.POLICY_DENY), 'the drop is a deny (181)');
    assert.equal(c.rt.node(W1)!.agent.endpointOf('default', 'server')!.policyIngress, 'Disabled');

    c.apply(cnp('allow-client', { endpointSelector: sel, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] }));
    assert.deepEqual(await outcome(), ['ok', 'ok', 'dropped', 'dropped'], 'another policy asks for default deny: it wins, allows are unioned');
    assert.equal(c.rt.node(W1)!.agent.endpointOf('default', 'server')!.policyIngress, 'Enabled');
    c.remove('CiliumNetworkPolicy', 'deny');
    c.remove('CiliumNetworkPolicy', 'allow-client');

    // Egress only: the client may reach the server, nothing else; its ingress stays open.
    c.apply(cnp('client-egress', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toEndpoints: [sel] }] }));
    const o = c.pod('target', { labels: { app: 'target' }, node: W1 });
    assert.equal(await reach(c, 'default/client', `http://${s}/`), 'ok');
    assert.equal(await reach(c, 'default/client', `http://${o}/`), 'dropped');
    assert.equal(await reach(c, 'default/server', `http://${cl}/`), 'ok');
    const cep = c.rt.node(W2)!.agent.endpointOf('default', 'client')!;
    assert.deepEqual([cep.policyIngress, cep.policyEgress], ['Disabled', 'Enabled']);
    const cepObj = c.rt.cache.get(R.ciliumEndpoints, 'default', 'client')!;
    assert.deepEqual((cepObj['status'] as { policy: unknown }).policy, { egress: { enforcing: true, state: '<status disabled>' }, ingress: { enforcing: false, state: '<status disabled>' } });
  } finally {
    await c.close();
  }
});

test('§8 enforcement modes: always isolates without policies (the host still gets in); never ignores every rule', async () => {
  const always = await policyCluster({ config: { cilium: { policyEnforcementMode: 'always' } } });
  try {
    const s = always.pod('server', { node: W1 });
    always.pod('client', { node: W2 });
    assert.equal(await reach(always, 'default/client', `http://${s}/`), 'dropped');
    assert.equal((await always.exec(`node/${W1}`, ['curl', '-s', '-m', '2', `http://${s}/`])).code, 0);
    // In `always` a policy with only ingress rules still leaves egress enforced.
    always.apply(cnp('in', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] }));
    assert.equal(await reach(always, 'default/client', `http://${s}/`), 'dropped', 'the client egress is enforced too');
    always.apply(cnp('out', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toEndpoints: [{ matchLabels: { app: 'server' } }] }] }));
    assert.equal(await reach(always, 'default/client', `http://${s}/`), 'ok');
  } finally {
    await always.close();
  }
  const never = await policyCluster({ config: { cilium: { policyEnforcementMode: 'never' } } });
  try {
    const s = never.pod('server', { node: W1 });
    never.pod('client', { node: W2 });
    never.apply(cnp('deny-all', { endpointSelector: {}, ingress: [{}], ingressDeny: [{ fromEntities: ['all'] }] }));
    assert.equal(await reach(never, 'default/client', `http://${s}/`), 'ok');
    assert.equal(never.rt.node(W1)!.agent.endpointOf('default', 'server')!.policyIngress, 'Disabled');
  } finally {
    await never.close();
  }
});

test('§13 audit mode: nothing is dropped by policy; the would-be drops are verdicts marked audited', async () => {
  const c = await policyCluster({ config: { cilium: { policyAuditMode: true } } });
  try {
    const s = c.pod('server', { labels: { app: 'server' }, node: W1 });
    c.pod('client', { node: W2 });
    c.apply(cnp('deny-all', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{}] }));
    c.verdicts();
    assert.equal(await reach(c, 'default/client', `http://${s}/`), 'ok');
    const v = c.verdicts().filter((e) => e.verdict < 0);
    assert.ok(v.length >= 1 && v.every((e) => e.audited), 'audited verdicts');
    assert.equal(c.rt.node(W1)!.agent.endpointOf('default', 'server')!.policyIngress, 'Disabled (Audit)');
  } finally {
    await c.close();
  }
});

test('§9 deny beats allow: the reference table (curl :81, curl :80, ping)', async () => {
  const c = await policyCluster();
  try {
    const s = c.pod('server', { labels: { app: 'server' }, node: W1, ports: [{ port: 80 }, { port: 81 }] });
    c.pod('client', { labels: { app: 'client' }, node: W2 });
    const sel = { matchLabels: { app: 'server' } };
    const client = { fromEndpoints: [{ matchLabels: { app: 'client' } }] };
    const allows = [
      cnp('allow-l7-80', { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{}] } }] }] }),
      cnp('allow-l4-80', { endpointSelector: sel, ingress: [{ toPorts: [tcp(80)] }] }),
      cnp('allow-l4-81', { endpointSelector: sel, ingress: [{ toPorts: [tcp(81)] }] }),
      cnp('allow-l3-client', { endpointSelector: sel, ingress: [client] }),
    ];
    const denies: Record<string, Record<string, unknown>[]> = {
      none: [],
      'L4 80/TCP': [{ toPorts: [tcp(80)] }],
      'L3 client': [client],
      'L4 80 + L3 client': [{ toPorts: [tcp(80)] }, client],
    };
    const row = async (): Promise<string> => {
      const r81 = await reach(c, 'default/client', `http://${s}:81/`);
      const r80 = await reach(c, 'default/client', `http://${s}:80/`);
      const ping = (await c.exec('default/client', ['ping', '-c', '1', '-W', '1', s])).code === 0 ? 'ok' : 'dropped';
      return `${r81} ${r80} ${ping}`;
    };
    for (const a of allows) c.apply(a);
    const got: Record<string, string> = {};
    for (const [name, rules] of Object.entries(denies)) {
      if (rules.length) c.apply(cnp('deny', { endpointSelector: sel, ingressDeny: rules }));
      got[name] = await row();
    }
    for (const a of allows) c.remove('CiliumNetworkPolicy', a.metadata.name!);
    c.apply(cnp('deny', { endpointSelector: sel, ingressDeny: [{ toPorts: [tcp(80)] }] }));
    got['L4 80/TCP and no allows'] = await row();
    assert.deepEqual(got, {
      none: 'ok ok ok',
      'L4 80/TCP': 'ok dropped ok',
      'L3 client': 'dropped dropped dropped',
      'L4 80 + L3 client': 'dropped dropped dropped',
      'L4 80/TCP and no allows': 'dropped dropped dropped',
    });
  } finally {
    await c.close();
  }
});

test('§13 replies pass through conntrack; a new connection the other way is a new decision; the local node gets in, a remote node does not', async () => {
  const c = await policyCluster();
  try {
    const s = c.pod('server', { labels: { app: 'server' }, node: W1 });
    const cl = c.pod('client', { labels: { app: 'client' }, node: W2 });
    c.apply(
      cnp('server', {
        endpointSelector: { matchLabels: { app: 'server' } },
        ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [tcp(80)] }],
        egress: [{}],
      }),
    );
    assert.equal(await reach(c, 'default/client', `http://${s}/`), 'ok', 'the reply leaves a server whose egress allows nothing');
    assert.equal(await reach(c, 'default/server', `http://${cl}/`), 'dropped', 'the server cannot open a connection');
    const fromNode = async (n: string) => ((await c.exec(`node/${n}`, ['curl', '-s', '-m', '2', `http://${s}/`])).code === 0 ? 'ok' : 'dropped');
    assert.equal(await fromNode(W1), 'ok', 'host → local pod (allow-localhost)');
    assert.equal(await fromNode(W2), 'dropped', 'a remote node is remote-node, not host');
    c.apply(cnp('nodes', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEntities: ['remote-node'] }] }));
    assert.equal(await fromNode(W2), 'ok');
    // An explicit deny of the host wins over allow-localhost.
    c.apply(cnp('no-host', { endpointSelector: { matchLabels: { app: 'server' } }, ingressDeny: [{ fromEntities: ['host'] }] }));
    assert.equal(await fromNode(W1), 'dropped');
  } finally {
    await c.close();
  }
});
