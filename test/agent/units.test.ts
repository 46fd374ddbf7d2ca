// The agent's parts on their own: the label filter, the identity allocator,
// IPAM and the endpoint ID pool, the service manager's map writes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSecurityRelevant, securityLabels, toObjectLabels } from '../../src/agent/labels.js';
import { CILIUM_IDENTITIES, IdentityAllocator } from '../../src/agent/identity.js';
import { IdPool, Ipam } from '../../src/agent/ipam.js';
import { ENDPOINT_SLICES, SERVICES, ServiceManager, type ClusterView } from '../../src/agent/services.js';
import { NoRulesPolicy } from '../../src/agent/policy.js';
import { ApiServer } from '../../src/k8s/apiserver.js';
import { Store } from '../../src/k8s/store.js';
import type { ResourceInfo } from '../../src/k8s/resources.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { NodeDatapath, defaultNodeConfig } from '../../src/datapath/sim/node-datapath.js';
import { ReservedIdentity } from '../../src/datapath/identity.js';
import { parseIpv4Addr } from '../../src/packet/ip.js';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';
import { readMaps } from '../cluster/maps.js';

const ip = (s: string): number => parseIpv4Addr(s)!;

test('security labels: pod labels minus Kubernetes bookkeeping, plus namespace, namespace labels, service account and cluster', () => {
  const labels = securityLabels({
    namespace: 'demo',
    podLabels: { app: 'frontend', 'pod-template-hash': '5d4f8c7b9', 'app.kubernetes.io/name': 'web', 'kubernetes.io/hostname': 'x', 'controller-revision-hash': 'abc' },
    namespaceLabels: { 'kubernetes.io/metadata.name': 'demo' },
    serviceAccount: 'default',
    clusterName: 'default',
  });
  assert.deepEqual(labels, [
    'k8s:app.kubernetes.io/name=web',
    'k8s:app=frontend',
    'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=demo',
    'k8s:io.cilium.k8s.policy.cluster=default',
    'k8s:io.cilium.k8s.policy.serviceaccount=default',
    'k8s:io.kubernetes.pod.namespace=demo',
  ]);
  assert.equal(isSecurityRelevant('node-role.kubernetes.io/control-plane'), true, 'the filter is anchored at the start');
  assert.equal(isSecurityRelevant('beta.kubernetes.io/arch'), false);
  assert.equal(isSecurityRelevant('statefulset.kubernetes.io/pod-name'), false);
  assert.equal(isSecurityRelevant('io.kubernetes.container.name'), false);
  // CiliumIdentity metadata.labels: only keys Kubernetes accepts (namespace labels have two slashes).
  assert.deepEqual(Object.keys(toObjectLabels(labels)).sort(), ['app', 'app.kubernetes.io/name', 'io.cilium.k8s.policy.cluster', 'io.cilium.k8s.policy.serviceaccount', 'io.kubernetes.pod.namespace']);
});

test('identity allocator: one CiliumIdentity per label set, random numbers ≥ 256, restored from the objects', () => {
  const clock = new VirtualClock();
  const store = new Store({ path: ':memory:', clock, rng: new Rng(1) });
  const api = new ApiServer({ store, clock });
  const alloc = new IdentityAllocator(api, new Rng(42), []);
  const a = ['k8s:app=a', 'k8s:io.kubernetes.pod.namespace=demo'];
  const b = ['k8s:app=b', 'k8s:io.kubernetes.pod.namespace=demo'];
  const idA = alloc.allocate(a)!;
  const idB = alloc.allocate(b)!;
  assert.equal(alloc.allocate([...a].reverse()), idA, 'label order does not matter');
  assert.notEqual(idA, idB);
  for (const id of [idA, idB]) assert.ok(id >= 256 && id <= 65535);
  assert.ok(idA > 999 || idB > 999, 'picked at random, not counted from 256');
  const obj = store.get(CILIUM_IDENTITIES, undefined, String(idA))!;
  assert.deepEqual(obj['security-labels'], { 'k8s:app': 'a', 'k8s:io.kubernetes.pod.namespace': 'demo' });
  assert.deepEqual(alloc.labelsOf(ReservedIdentity.WORLD), ['reserved:world']);
  const listed = alloc.list();
  assert.deepEqual(listed.slice(0, 8).map((e) => e.id), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(listed.slice(8).map((e) => e.id), [idA, idB].sort((x, y) => x - y));

  // Another allocator over the same objects (a restart) keeps the numbers.
  const again = new IdentityAllocator(api, new Rng(7), store.list(CILIUM_IDENTITIES).items);
  assert.equal(again.allocate(a), idA);
  assert.equal(again.allocate(b), idB);
  store.close();
});

test('IPAM: random start, never the network or broadcast address, exhaustion, restore of a given address', () => {
  const ipam = new Ipam({ addr: ip('10.244.1.0'), prefixLen: 28 }, new Rng(3));
  const got = new Set<number>();
  for (let i = 0; i < 14; i++) got.add(ipam.allocateNext(`p${i}`)!);
  assert.equal(got.size, 14);
  assert.ok(!got.has(ip('10.244.1.0')) && !got.has(ip('10.244.1.15')));
  assert.equal(ipam.allocateNext('more'), undefined, 'a /28 has 14 usable addresses');
  ipam.release(ip('10.244.1.7'));
  assert.equal(ipam.allocate(ip('10.244.1.7'), 'restored'), true);
  assert.equal(ipam.allocate(ip('10.244.1.7'), 'someone-else'), false);
  assert.equal(ipam.allocate(ip('10.244.2.7'), 'x'), false, 'outside the CIDR');

  const pool = new IdPool(new Rng(5));
  const ids = new Set<number>();
  for (let i = 0; i < 100; i++) ids.add(pool.lease()!);
  assert.equal(ids.size, 100);
  assert.ok([...ids].every((id) => id >= 1 && id <= 4095));
  const taken = [...ids][0]!;
  assert.equal(pool.claim(taken), false);
  pool.release(taken);
  assert.equal(pool.claim(taken), true);
});

test('the default policy: allow-all both ways unless enforcement is "always"', () => {
  const ctx = { id: 1, namespace: 'demo', podName: 'p', identity: 1234, labels: [], namedPorts: [] };
  const open = new NoRulesPolicy().compute(ctx, 'default');
  assert.equal(open.ingressEnforced || open.egressEnforced, false);
  assert.deepEqual(open.entries.map((e) => `${e.egress ? 'egress' : 'ingress'} ${e.identity}/${e.proto}/${e.port}`), ['ingress 0/0/0', 'egress 0/0/0']);
  const closed = new NoRulesPolicy().compute(ctx, 'always');
  assert.equal(closed.ingressEnforced && closed.egressEnforced, true);
  assert.deepEqual(closed.entries.map((e) => e.identity), [ReservedIdentity.HOST]);
});

class FakeView implements ClusterView {
  readonly objects = new Map<string, KubeObject>();
  put(r: ResourceInfo, o: KubeObject): void {
    this.objects.set(`${r.plural}/${o.metadata.namespace}/${o.metadata.name}`, o);
  }
  remove(r: ResourceInfo, ns: string, name: string): void {
    this.objects.delete(`${r.plural}/${ns}/${name}`);
  }
  get(r: ResourceInfo, ns: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(`${r.plural}/${ns}/${name}`);
  }
  list(r: ResourceInfo, ns?: string): KubeObject[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${r.plural}/${ns ?? ''}`)).map(([, o]) => o);
  }
}

function slice(addresses: string[], ports: { name: string; port: number; protocol: string }[], notReady: string[] = []): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'dns-abcde', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'dns' } },
    addressType: 'IPv4',
    endpoints: [...addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })), ...notReady.map((a) => ({ addresses: [a], conditions: { ready: false, serving: true, terminating: true } }))],
    ports,
  };
}

test('service manager: IDs from 1, TCP and UDP ports of one number share a frontend, backends follow the slices, stale slots go', () => {
  const dp = new NodeDatapath(defaultNodeConfig({ nodeName: 'n', nodeIp: ip('172.18.0.3'), podCidr: { addr: ip('10.244.1.0'), prefixLen: 24 } }), new VirtualClock());
  const view = new FakeView();
  const svc: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'dns', namespace: 'kube-system' },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'metrics', port: 9153, protocol: 'TCP' }] },
  };
  view.put(SERVICES, svc);
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    { name: 'metrics', port: 9153, protocol: 'TCP' },
  ];
  view.put(ENDPOINT_SLICES, slice(['10.244.1.5', '10.244.2.6', '10.244.3.7'], ports));
  const sm = new ServiceManager(dp, view);
  sm.sync('kube-system/dns');
  assert.deepEqual(sm.list().map((s) => `${s.id} ${s.frontend} ${s.backends.map((b) => `${b.id}=${b.address}`).join(' ')}`), [
    '1 10.96.0.10:53 1=10.244.1.5:53 2=10.244.2.6:53 3=10.244.3.7:53',
    '2 10.96.0.10:9153 4=10.244.1.5:9153 5=10.244.2.6:9153 6=10.244.3.7:9153',
  ]);
  let maps = readMaps(dp);
  assert.deepEqual(maps.services.get('10.96.0.10:53'), { revNat: 1, count: 3, slots: [1, 2, 3] });

  // One pod goes away, one starts terminating: 1 active slot, backend IDs kept.
  view.put(ENDPOINT_SLICES, slice(['10.244.2.6'], ports, ['10.244.3.7']));
  sm.sync('kube-system/dns');
  maps = readMaps(dp);
  assert.deepEqual(maps.services.get('10.96.0.10:53'), { revNat: 1, count: 1, slots: [2] }, 'stale slots 2 and 3 deleted');
  assert.equal(maps.backends.get(1), undefined, 'unreferenced backend removed');
  assert.equal(maps.backends.get(3), '10.244.3.7:53', 'terminating backend kept for existing flows');
  assert.deepEqual(sm.list()[0]!.backends.map((b) => `${b.id}:${b.state}`), ['2:active', '3:terminating']);

  // The Service is deleted: frontends, rev-NAT and backends all go.
  view.remove(SERVICES, 'kube-system', 'dns');
  sm.sync('kube-system/dns');
  maps = readMaps(dp);
  assert.equal(maps.services.size, 0);
  assert.equal(maps.backends.size, 0);
  assert.equal(dp.lbRevNat.count, 0);
  assert.deepEqual(sm.list(), []);
});
