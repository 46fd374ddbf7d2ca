// The fast paths of a large bring-up keep the cluster's answers: every node's
// cilium_ipcache (read from its bytes) is exactly what its agent lists, with
// each pod's /32 behind the right node, through scale-up, scale-down, a
// relabel and a pod deleted by hand; and the runtime's routed fan-out leaves
// no reconciler with work.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import type { ClusterRuntime } from '../../src/cluster/runtime.js';
import { ipv4ToString } from '../../src/packet/ip.js';
import { startCluster } from './harness.js';
import { readMaps } from './maps.js';

/** Every node's map against its agent's list, and every Running pod's /32 on every other node. */
function assertIpcaches(rt: ClusterRuntime, when: string): void {
  const pods = rt.cache.list(R.pods).filter((p) => (p['status'] as { phase?: string } | undefined)?.phase === 'Running' && !(p['spec'] as { hostNetwork?: boolean }).hostNetwork);
  for (const n of rt.nodes) {
    const inMap = readMaps(n.dp).ipcache;
    const listed = n.agent.ipcacheList();
    assert.deepEqual(
      [...inMap].map(([prefix, v]) => `${prefix} ${v.identity} ${v.tunnel}`).sort(),
      listed.map((r) => `${r.prefix} ${r.identity} ${r.tunnelEndpoint}`).sort(),
      `${when}: ${n.name}'s cilium_ipcache is what its agent lists`,
    );
    for (const p of pods) {
      const ip = (p['status'] as { podIP: string }).podIP;
      const home = rt.node((p['spec'] as { nodeName: string }).nodeName)!;
      const row = inMap.get(`${ip}/32`);
      assert.ok(row, `${when}: ${n.name} has ${p.metadata.name} (${ip})`);
      assert.equal(row.tunnel, home === n ? '0.0.0.0' : ipv4ToString(home.ip), `${when}: ${ip} on ${n.name} tunnels to its node`);
    }
  }
}

test('ipcache on every node matches its agent through scale-up, relabel, scale-down and delete', async () => {
  const { rt } = await startCluster({ config: { workers: 4 } });
  try {
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 12, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } } },
    };
    assert.ok(rt.api.create(R.deployments, 'default', deploy).ok);
    assert.equal(rt.podsWithLabel('default', 'app', 'web').length, 12);
    assertIpcaches(rt, 'after scale-up');

    const victim = rt.podsWithLabel('default', 'app', 'web')[3]!;
    const relabelled = rt.api.patch(R.pods, 'default', victim.metadata.name!, 'merge', { metadata: { labels: { tier: 'gold' } } });
    assert.ok(relabelled.ok);
    const cep = rt.cache.get(R.ciliumEndpoints, 'default', victim.metadata.name!)!;
    const identity = (cep['status'] as { identity: { id: number } }).identity.id;
    for (const n of rt.nodes) {
      assert.equal(readMaps(n.dp).ipcache.get(`${(victim['status'] as { podIP: string }).podIP}/32`)?.identity, identity, `${n.name} has the new identity`);
    }
    assertIpcaches(rt, 'after relabel');

    const gone = rt.podsWithLabel('default', 'app', 'web')[0]!;
    const goneIp = (gone['status'] as { podIP: string }).podIP;
    assert.ok(rt.api.delete(R.pods, 'default', gone.metadata.name!).ok);
    assertIpcaches(rt, 'after a delete (the ReplicaSet replaced the pod)');
    const replacement = rt.podsWithLabel('default', 'app', 'web').some((p) => (p['status'] as { podIP?: string }).podIP === goneIp);
    if (!replacement) for (const n of rt.nodes) assert.equal(readMaps(n.dp).ipcache.has(`${goneIp}/32`), false, `${n.name} forgot ${goneIp}`);

    assert.ok(rt.api.patch(R.deployments, 'default', 'web', 'merge', { spec: { replicas: 3 } }).ok);
    assert.equal(rt.podsWithLabel('default', 'app', 'web').length, 3);
    assertIpcaches(rt, 'after scale-down');
    assert.equal(rt.settle(), 0, 'nothing left to do');
    assert.deepEqual(rt.problems, []);
  } finally {
    await rt.close();
  }
});

test('a Service with 250 pods gets EndpointSlices of at most 100 endpoints, and every node load-balances over all 250', async () => {
  const { rt } = await startCluster({ config: { workers: 4 } });
  try {
    assert.ok(rt.api.create(R.services, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'many', namespace: 'default' }, spec: { selector: { app: 'many' }, ports: [{ port: 80, targetPort: 8080 }] } }).ok);
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'many', namespace: 'default' },
      spec: { replicas: 250, selector: { matchLabels: { app: 'many' } }, template: { metadata: { labels: { app: 'many' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 8080 }] }] } } },
    };
    assert.ok(rt.api.create(R.deployments, 'default', deploy).ok);
    const slices = rt.cache.list(R.endpointSlices, 'default').filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'many');
    assert.deepEqual(slices.map((s) => (s['endpoints'] as unknown[]).length).sort((a, b) => b - a), [100, 100, 50]);
    const vip = String((rt.cache.get(R.services, 'default', 'many')!['spec'] as { clusterIP: string }).clusterIP);
    const ips = new Set(rt.podsWithLabel('default', 'app', 'many').map((p) => `${(p['status'] as { podIP: string }).podIP}:8080`));
    assert.equal(ips.size, 250);
    for (const n of rt.nodes) {
      const maps = readMaps(n.dp);
      const svc = maps.services.get(`${vip}:80`)!;
      assert.equal(svc.count, 250, `${n.name} has every backend`);
      assert.deepEqual(new Set(svc.slots.map((id) => maps.backends.get(id))), ips);
    }
    assert.ok(rt.api.patch(R.deployments, 'default', 'many', 'merge', { spec: { replicas: 40 } }).ok);
    const after = rt.cache.list(R.endpointSlices, 'default').filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'many');
    assert.deepEqual(after.map((s) => (s['endpoints'] as unknown[]).length), [40]);
    for (const n of rt.nodes) assert.equal(readMaps(n.dp).services.get(`${vip}:80`)!.count, 40);
    assert.deepEqual(rt.problems, []);
  } finally {
    await rt.close();
  }
});
