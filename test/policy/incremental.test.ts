// Policy changes are realized when the write returns, and only where they
// apply: a policy edit regenerates the endpoints it selects (others keep
// their maps, counters included), a new identity is added to the selectors
// that select it, relabelled pods and namespaces move between selectors. A
// policy map that cannot hold the policy is reported, deny entries first.
// The repository is inspectable as `cilium policy get` and `cilium bpf policy
// get` show it, and survives a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import { policyMapName } from '../../src/datapath/maps.js';
import { ClusterRuntime } from '../../src/cluster/runtime.js';
import { VirtualClock } from '../../src/util/clock.js';
import { execIn, tempDb } from '../cluster/harness.js';
import { CNP, cnp, knp, policyCluster, reach } from './harness.js';

const W1 = 'kind-worker';
const W2 = 'kind-worker2';

test('a policy edit regenerates only the endpoints it selects; a new identity joins the selectors that select it', async () => {
  const c = await policyCluster();
  try {
    const s = c.pod('server', { labels: { app: 'server' }, node: W1 });
    const web = c.pod('web', { labels: { app: 'web' }, node: W1 });
    c.pod('client', { labels: { app: 'client' }, node: W2 });
    c.pod('other', { labels: { app: 'other' }, node: W2 });
    const notified: number[][] = [];
    c.engine.subscribe({ regenerate: (ids) => notified.push([...ids].sort()), prefixesChanged: () => {} });
    const agent = c.rt.node(W1)!.agent;
    const webEp = agent.endpointOf('default', 'web')!;
    const serverEp = agent.endpointOf('default', 'server')!;
    const webMap = c.rt.node(W1)!.dp.maps.get(policyMapName(webEp.id))!;
    assert.equal(await reach(c, 'default/client', `http://${web}/`), 'ok');
    const packets = () => c.engine.describePolicyMap(webMap).find((r) => r.direction === 'ingress')!.packets!;
    const before = packets();
    assert.ok(before > 0, 'the allow-all entry counted the connection');

    c.apply(cnp('p', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] }));
    assert.deepEqual(notified, [[serverEp.identity]], 'only the server identity was regenerated');
    assert.equal(packets(), before, "web's map was not rewritten (its counters survive)");
    assert.deepEqual([await reach(c, 'default/client', `http://${s}/`), await reach(c, 'default/other', `http://${s}/`)], ['ok', 'dropped']);

    // A pod with a new identity that the peer selector selects: allowed as soon as the create returns.
    notified.length = 0;
    c.pod('client2', { labels: { app: 'client', tier: 'canary' }, node: W2 });
    assert.deepEqual(notified, [[serverEp.identity]], 'the new identity touched the server policy only');
    assert.equal(await reach(c, 'default/client2', `http://${s}/`), 'ok');

    // Relabelling moves a pod between selectors.
    assert.ok(c.rt.api.patch(R.pods, 'default', 'other', 'merge', { metadata: { labels: { app: 'client' } } }).ok);
    assert.equal(await reach(c, 'default/other', `http://${s}/`), 'ok');
    assert.ok(c.rt.api.patch(R.pods, 'default', 'client2', 'merge', { metadata: { labels: { app: 'gone' } } }).ok);
    assert.equal(await reach(c, 'default/client2', `http://${s}/`), 'dropped');
    assert.deepEqual(c.rt.problems.filter((p) => p.startsWith('policy')), []);
  } finally {
    await c.close();
  }
});

test('a namespace label change moves its pods in and out of a NetworkPolicy namespaceSelector', async () => {
  const c = await policyCluster();
  try {
    c.namespace('prod');
    c.namespace('dev');
    const s = c.pod('db', { namespace: 'prod', labels: { app: 'db' }, node: W1 });
    c.pod('app', { namespace: 'dev', labels: { app: 'app' }, node: W2 });
    c.apply(knp('from-trusted', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { trusted: 'yes' } } }] }] }, 'prod'));
    assert.equal(await reach(c, 'dev/app', `http://${s}/`), 'dropped');
    assert.ok(c.rt.api.patch(R.namespaces, undefined, 'dev', 'merge', { metadata: { labels: { trusted: 'yes' } } }).ok);
    assert.equal(await reach(c, 'dev/app', `http://${s}/`), 'ok');
  } finally {
    await c.close();
  }
});

test('fromRequires (deprecated in 1.17) narrows every fromEndpoints selector of the endpoint', async () => {
  const c = await policyCluster();
  try {
    const s = c.pod('server', { labels: { app: 'server' }, node: W1 });
    c.pod('prod-fe', { labels: { role: 'frontend', env: 'prod' }, node: W2 });
    c.pod('dev-fe', { labels: { role: 'frontend', env: 'dev' }, node: W2 });
    const sel = { matchLabels: { app: 'server' } };
    c.apply(cnp('fe', { endpointSelector: sel, ingress: [{ fromEndpoints: [{ matchLabels: { role: 'frontend' } }] }] }));
    assert.deepEqual([await reach(c, 'default/prod-fe', `http://${s}/`), await reach(c, 'default/dev-fe', `http://${s}/`)], ['ok', 'ok']);
    c.apply(cnp('prod-only', { endpointSelector: sel, ingress: [{ fromRequires: [{ matchLabels: { env: 'prod' } }] }] }));
    assert.deepEqual([await reach(c, 'default/prod-fe', `http://${s}/`), await reach(c, 'default/dev-fe', `http://${s}/`)], ['ok', 'dropped']);
  } finally {
    await c.close();
  }
});

test('a policy map too small for the policy is reported; deny entries are written first', async () => {
  const huge = cnp('huge', {
    endpointSelector: { matchLabels: { app: 'server' } },
    // 1..65535 is 16 prefixes per protocol and peer; from every cluster identity that is hundreds of entries.
    ingress: [{ fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '1', endPort: 65535, protocol: 'ANY' }] }] }],
    ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '22', protocol: 'TCP' }] }] }],
  });
  const pods = (c: { pod: (n: string, s: { labels: Record<string, string>; node: string }) => string }) => {
    c.pod('server', { labels: { app: 'server' }, node: W1 });
    c.pod('client', { labels: { app: 'client' }, node: W2 });
  };
  const roomy = await policyCluster();
  try {
    pods(roomy);
    roomy.apply(huge);
    const ep = roomy.rt.node(W1)!.agent.endpointOf('default', 'server')!;
    const n = roomy.engine.describePolicyMap(roomy.rt.node(W1)!.dp.maps.get(policyMapName(ep.id))!).length;
    assert.ok(n > 200, `${n} entries`);
    assert.deepEqual(roomy.rt.problems.filter((p) => p.startsWith('policy') || /refused/.test(p)), [], 'fits in 16384');
  } finally {
    await roomy.close();
  }
  // The same policy on agents started with --bpf-policy-map-max=64.
  const tiny = await policyCluster({ policyMapMax: 64 });
  try {
    pods(tiny);
    tiny.apply(huge);
    const engineReport = tiny.rt.problems.filter((p) => p.startsWith('policy:'));
    assert.equal(engineReport.length, 1, tiny.rt.problems.join('\n'));
    assert.match(engineReport[0]!, /policy map entries needed, the map holds 64 \(--bpf-policy-map-max\); deny entries are written first/);
    assert.ok(tiny.rt.problems.some((p) => /refused an entry/.test(p)), 'the agent reports the refused writes');
    const ep = tiny.rt.node(W1)!.agent.endpointOf('default', 'server')!;
    const rows = tiny.engine.describePolicyMap(tiny.rt.node(W1)!.dp.maps.get(policyMapName(ep.id))!);
    assert.equal(rows.length, 64);
    assert.ok(rows.some((x) => x.deny && x.portProto === '22/TCP'), 'the deny made it into the full map');
  } finally {
    await tiny.close();
  }
});

test('inspection: `cilium policy get` rules and revision, `cilium bpf policy get` rows with their rules', async () => {
  const c = await policyCluster();
  try {
    c.pod('server', { labels: { app: 'server' }, node: W1, ports: [{ port: 8080 }] });
    c.pod('client', { labels: { app: 'client' }, node: W2 });
    const r0 = c.engine.revision;
    const obj = c.apply(cnp('allow-client', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] }));
    assert.equal(c.engine.revision, r0 + 1);
    const got = c.engine.policyGet(['k8s:io.cilium.k8s.policy.name=allow-client']);
    assert.equal(got.revision, r0 + 1);
    assert.deepEqual(got.rules, [
      {
        endpointSelector: { matchLabels: { 'any:app': 'server', 'k8s:io.kubernetes.pod.namespace': 'default' } },
        ingress: [
          {
            fromEndpoints: [{ matchLabels: { 'any:app': 'client', 'k8s:io.kubernetes.pod.namespace': 'default' } }],
            toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
          },
        ],
        labels: [
          { key: 'io.cilium.k8s.policy.derived-from', value: 'CiliumNetworkPolicy', source: 'k8s' },
          { key: 'io.cilium.k8s.policy.name', value: 'allow-client', source: 'k8s' },
          { key: 'io.cilium.k8s.policy.namespace', value: 'default', source: 'k8s' },
          { key: 'io.cilium.k8s.policy.uid', value: obj.metadata.uid, source: 'k8s' },
        ],
      },
    ]);
    assert.deepEqual(c.engine.policyGet(['k8s:io.cilium.k8s.policy.name=nope']).rules, []);

    const ep = c.rt.node(W1)!.agent.endpointOf('default', 'server')!;
    const clientId = c.rt.node(W2)!.agent.endpointOf('default', 'client')!.identity;
    const rows = c.engine.describePolicyMap(c.rt.node(W1)!.dp.maps.get(policyMapName(ep.id))!);
    assert.deepEqual(
      rows.map((r) => `${r.deny ? 'Deny' : 'Allow'} ${r.direction} ${r.identity === clientId ? 'client' : r.identityLabels.join(',')} ${r.portProto} prefix ${r.prefix} ${r.attribution?.implicit ?? r.attribution?.rules.map((x) => x.name).join(',')}`),
      ['Allow ingress reserved:host ANY prefix 0 allow-localhost', 'Allow ingress client 8080/TCP prefix 24 allow-client', 'Allow egress reserved:unknown ANY prefix 0 enforcement-disabled'],
    );
    c.remove('CiliumNetworkPolicy', 'allow-client');
    assert.equal(c.engine.revision, r0 + 2);
    assert.deepEqual(c.engine.policyGet().rules, []);
  } finally {
    await c.close();
  }
});

test('policies come back with the cluster: a restart on the same store enforces them before the first request', async () => {
  const dbPath = tempDb();
  const clock = new VirtualClock(5_000_000);
  let rt = await ClusterRuntime.create({ dbPath, clock, config: { workers: 2 } });
  let server = '';
  try {
    for (const [name, labels, node] of [
      ['server', { app: 'server' }, W1],
      ['client', { app: 'client' }, W2],
      ['other', { app: 'other' }, W2],
    ] as const) {
      assert.ok(rt.api.create(R.pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { nodeName: node, containers: [{ name: 'c', image: 'podpath/server', ports: [{ containerPort: 80 }] }] } }).ok);
    }
    assert.ok(rt.api.create(CNP, 'default', cnp('p', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] })).ok);
    server = String((rt.cache.get(R.pods, 'default', 'server')!['status'] as { podIP: string }).podIP);
  } finally {
    await rt.close();
  }
  rt = await ClusterRuntime.create({ dbPath, clock, config: { workers: 2 } });
  try {
    const curl = async (from: string) => (await execIn(rt, clock, `default/${from}`, ['curl', '-s', '-m', '2', `http://${server}/`])).code;
    assert.deepEqual([await curl('client'), await curl('other')], [0, 28]);
  } finally {
    await rt.close();
  }
});
