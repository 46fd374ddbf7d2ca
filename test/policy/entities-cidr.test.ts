// Reference §5 (entities) and §6 (CIDR rules, toServices) with real traffic:
// pods talk to external hosts on the underlay (the world), to nodes (host,
// remote-node) and to each other. CIDR prefixes get local identities
// (16777217+) in every node's ipcache; they never match Cilium-managed pods.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import { LOCAL_IDENTITY_FLAG } from '../../src/datapath/identity.js';
import { ipv4ToString } from '../../src/packet/ip.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { cnp, policyCluster, reach, type PolicyCluster } from './harness.js';

const W1 = 'kind-worker';
const W2 = 'kind-worker2';
const EXT = '172.18.0.100';
const EXT2 = '172.18.0.101';

async function world(): Promise<{ c: PolicyCluster; server: string; n1: string; n2: string }> {
  const c = await policyCluster({
    config: {
      externalHosts: [
        { name: 'ext', ip: EXT, ports: [{ port: 80 }], app: 'http' },
        { name: 'ext2', ip: EXT2, ports: [{ port: 80 }], app: 'http' },
      ],
    },
  });
  const server = c.pod('server', { labels: { app: 'server' }, node: W2 });
  c.pod('client', { labels: { app: 'client' }, node: W1 });
  return { c, server, n1: ipv4ToString(c.rt.node(W1)!.ip), n2: ipv4ToString(c.rt.node(W2)!.ip) };
}

test('§5 entities on egress: world, cluster, host, remote-node, all', async () => {
  const { c, server, n1, n2 } = await world();
  try {
    const targets = [`http://${EXT}/`, `http://${server}/`, `http://${n1}/`, `http://${n2}/`];
    const probe = async () => Promise.all(targets.map((t) => reach(c, 'default/client', t)));
    const egress = (toEntities: string[]) => c.apply(cnp('e', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toEntities }] }));
    // Without policy: the world answers, the server answers, nodes refuse (nothing listens on :80).
    assert.deepEqual(await probe(), ['ok', 'ok', 'refused', 'refused']);
    egress(['world']);
    assert.deepEqual(await probe(), ['ok', 'dropped', 'dropped', 'dropped']);
    egress(['cluster']);
    assert.deepEqual(await probe(), ['dropped', 'ok', 'refused', 'refused']);
    egress(['host']);
    assert.deepEqual(await probe(), ['dropped', 'dropped', 'refused', 'dropped'], 'host is the local node only');
    egress(['remote-node']);
    assert.deepEqual(await probe(), ['dropped', 'dropped', 'dropped', 'refused']);
    egress(['all']);
    assert.deepEqual(await probe(), ['ok', 'ok', 'refused', 'refused']);
    egress(['none']);
    assert.deepEqual(await probe(), ['dropped', 'dropped', 'dropped', 'dropped']);
  } finally {
    await c.close();
  }
});

/**
 * The client's egress decision on a real connection attempt: `allowed` when the
 * egress verdict for the SYN allowed it (the answer itself needs the datapath
 * to masquerade CIDR identities, see the todo below), `dropped` when policy
 * dropped it, `refused`/`ok` as curl saw it when egress policy is not involved.
 */
async function egressOutcome(c: PolicyCluster, url: string): Promise<string> {
  c.verdicts();
  const r = await reach(c, 'default/client', url);
  const v = c.verdicts().filter((e) => e.direction === PolicyDir.EGRESS);
  if (v.length === 0) return r;
  if (v.some((e) => e.verdict < 0)) return 'dropped';
  return r === 'refused' ? 'refused' : 'allowed';
}

test('§6 CIDR: an external host allowed by toCIDR answers (its CIDR identity is masqueraded like the world)', async () => {
  const { c } = await world();
  try {
    c.apply(cnp('e', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toCIDR: [`${EXT}/32`] }] }));
    assert.equal(await reach(c, 'default/client', `http://${EXT}/`), 'ok');
    assert.equal(await reach(c, 'default/client', `http://${EXT2}/`), 'dropped');
  } finally {
    await c.close();
  }
});

test('§6 CIDR: toCIDR and toCIDRSet with except select external addresses through CIDR identities, never pods or nodes', async () => {
  const { c, server, n2 } = await world();
  try {
    const targets = [`http://${EXT}/`, `http://${EXT2}/`, `http://${server}/`, `http://${n2}/`];
    const probe = async () => {
      const out: string[] = [];
      for (const t of targets) out.push(await egressOutcome(c, t));
      return out;
    };
    const egress = (rule: Record<string, unknown>) => c.apply(cnp('e', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [rule] }));

    egress({ toCIDR: [`${EXT}/32`] });
    assert.deepEqual(await probe(), ['allowed', 'dropped', 'dropped', 'dropped']);
    // The prefix has a local identity in every node's ipcache.
    for (const n of c.rt.nodes) {
      const row = n.agent.ipcacheList().find((r) => r.prefix === `${EXT}/32`);
      assert.ok(row && row.identity > LOCAL_IDENTITY_FLAG, `${n.name}: ${JSON.stringify(row)}`);
      assert.equal(row.source, 'generated');
    }
    assert.deepEqual(c.engine.identityLabels(c.engine.prefixIdentities()[0]!.identity), [`cidr:${EXT}/32`, 'reserved:world']);

    egress({ toCIDRSet: [{ cidr: '172.18.0.0/16', except: [`${EXT}/32`] }] });
    assert.deepEqual(await probe(), ['dropped', 'allowed', 'dropped', 'dropped'], 'except carves out ext; nodes inside the CIDR are still remote-node');
    assert.equal(c.rt.nodes[0]!.agent.ipcacheList().some((r) => r.prefix === '172.18.0.0/16'), true);

    egress({ toCIDR: ['10.244.0.0/16'] });
    assert.deepEqual(await probe(), ['dropped', 'dropped', 'dropped', 'dropped'], 'a CIDR covering the pod range does not match pods');

    egress({ toCIDR: ['0.0.0.0/0'] });
    assert.deepEqual(await probe(), ['allowed', 'allowed', 'dropped', 'dropped'], '0.0.0.0/0 is the world');
    assert.equal(await reach(c, 'default/client', `http://${EXT}/`), 'ok', 'world (identity 2) is masqueraded and answers');

    // Removing the policy removes its prefixes from every ipcache.
    c.remove('CiliumNetworkPolicy', 'e');
    for (const n of c.rt.nodes) assert.deepEqual(n.agent.ipcacheList().filter((r) => r.source === 'generated' && r.prefix !== '0.0.0.0/0'), []);
    assert.deepEqual(await probe(), ['ok', 'ok', 'ok', 'refused']);
  } finally {
    await c.close();
  }
});

test('§6 toServices: a Service with a selector allows its backends (backend pods, target port)', async () => {
  const { c, server } = await world();
  try {
    const other = c.pod('other', { labels: { app: 'other' }, node: W2 });
    assert.ok(c.rt.api.create(R.services, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'server' }, ports: [{ port: 80 }] } }).ok);
    c.apply(cnp('svc', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toServices: [{ k8sService: { serviceName: 'web', namespace: 'default' } }] }] }));
    assert.equal(await reach(c, 'default/client', `http://${server}/`), 'ok');
    assert.equal(await reach(c, 'default/client', `http://${other}/`), 'dropped');
    // A new backend joins when it is labelled like the Service's selector.
    const third = c.pod('third', { labels: { app: 'server' }, node: W1 });
    assert.equal(await reach(c, 'default/client', `http://${third}/`), 'ok');
  } finally {
    await c.close();
  }
});

test('§5 entities on ingress: the local host always, remote-node and cluster when allowed', async () => {
  const { c, server } = await world();
  try {
    const fromNode = async (n: string) => ((await c.exec(`node/${n}`, ['curl', '-s', '-m', '2', `http://${server}/`])).code === 0 ? 'ok' : 'dropped');
    const probe = async () => [await fromNode(W2), await fromNode(W1), await reach(c, 'default/client', `http://${server}/`)];
    const ingress = (fromEntities: string[]) => c.apply(cnp('i', { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEntities }] }));
    ingress(['world']);
    assert.deepEqual(await probe(), ['ok', 'dropped', 'dropped']);
    ingress(['remote-node']);
    assert.deepEqual(await probe(), ['ok', 'ok', 'dropped']);
    ingress(['cluster']);
    assert.deepEqual(await probe(), ['ok', 'ok', 'ok']);
  } finally {
    await c.close();
  }
});
