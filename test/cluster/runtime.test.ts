// The cluster end to end: bring-up, the demo app, traffic through DNS, socket
// LB and VXLAN, pod deletion and scaling realized in every node's maps, node
// → pod traffic, and a restart on the same SQLite file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, ipv4ToString, parseIpv4Addr } from '../../src/packet/ip.js';
import { ReservedIdentity } from '../../src/datapath/identity.js';
import { policyMapName } from '../../src/datapath/maps.js';
import { dissectFrame } from '../../src/packet/dissect.js';
import { R } from '../../src/cluster/controllers/common.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { nodeOf, podIp, pods, spec, startCluster, status, tempDb } from './harness.js';
import { readMaps } from './maps.js';
import { pickPod } from '../../src/k8s/pod-order.js';

function cepOf(rt: Awaited<ReturnType<typeof startCluster>>['rt'], pod: KubeObject): { id: number; identity: number; labels: string[]; ip: string; node: string; state: string } {
  const cep = rt.cache.get(R.ciliumEndpoints, pod.metadata.namespace, pod.metadata.name ?? '');
  assert.ok(cep, `CiliumEndpoint for ${pod.metadata.name}`);
  const st = cep['status'] as { id: number; identity: { id: number; labels: string[] }; networking: { addressing: { ipv4: string }[]; node: string }; state: string };
  return { id: st.id, identity: st.identity.id, labels: st.identity.labels, ip: st.networking.addressing[0]!.ipv4, node: st.networking.node, state: st.state };
}

test('the cluster comes up like kind: 3 workers, a cilium pod per node, CoreDNS behind kube-dns, Hubble services', async () => {
  const t0 = performance.now();
  const { rt } = await startCluster();
  const createMs = performance.now() - t0;
  const t1 = performance.now();
  rt.deployDemo();
  const demoMs = performance.now() - t1;
  console.log(`# bring-up: ClusterRuntime.create ${createMs.toFixed(0)} ms, deployDemo ${demoMs.toFixed(0)} ms`);
  try {
    assert.deepEqual(
      rt.nodes.map((n) => `${n.name} ${ipv4ToString(n.ip)} ${ipv4ToString(n.podCidr.addr)}/${n.podCidr.prefixLen}`),
      ['kind-control-plane 172.18.0.2 10.244.0.0/24', 'kind-worker 172.18.0.3 10.244.1.0/24', 'kind-worker2 172.18.0.4 10.244.2.0/24', 'kind-worker3 172.18.0.5 10.244.3.0/24'],
    );
    for (const n of rt.cache.list(R.nodes)) {
      const conds = (status(n)['conditions'] as { type: string; status: string }[]).filter((c) => c.type === 'Ready');
      assert.equal(conds[0]?.status, 'True', `${n.metadata.name} Ready`);
    }
    const cilium = pods(rt, 'kube-system', 'cilium');
    assert.equal(cilium.length, 4);
    assert.deepEqual(cilium.map(nodeOf).sort(), rt.nodes.map((n) => n.name).sort());
    for (const p of cilium) {
      assert.match(p.metadata.name ?? '', /^cilium-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(spec(p)['hostNetwork'], true);
      assert.equal(status(p)['phase'], 'Running');
      assert.equal(podIp(p), ipv4ToString(rt.node(nodeOf(p))!.ip), 'host-network pods have the node IP');
    }
    const ds = rt.cache.get(R.daemonSets, 'kube-system', 'cilium')!;
    assert.equal((ds['status'] as { numberReady: number }).numberReady, 4);

    const coredns = pods(rt, 'kube-system', 'kube-dns');
    assert.equal(coredns.length, 2);
    for (const p of coredns) {
      assert.match(p.metadata.name ?? '', /^coredns-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      const node = rt.node(nodeOf(p))!;
      assert.ok(cidrContains(node.podCidr.addr, node.podCidr.prefixLen, parseIpv4Addr(podIp(p))!), 'CoreDNS IP from its node CIDR');
    }
    const kubeDns = rt.cache.get(R.services, 'kube-system', 'kube-dns')!;
    assert.equal(spec(kubeDns)['clusterIP'], '10.96.0.10');
    assert.equal(spec(rt.cache.get(R.services, 'default', 'kubernetes')!)['clusterIP'], '10.96.0.1');
    const ui = rt.cache.get(R.services, 'kube-system', 'hubble-ui')!;
    assert.deepEqual((spec(ui)['ports'] as { port: number; targetPort: number }[]).map((p) => `${p.port}->${p.targetPort}`), ['80->8081']);
    assert.equal(pods(rt, 'kube-system', 'hubble-relay').length, 1);

    // Every agent has the CoreDNS frontend with both pods behind it.
    for (const n of rt.nodes) {
      const svc = n.agent.serviceList().find((s) => s.frontend === '10.96.0.10:53');
      assert.ok(svc, `kube-dns frontend on ${n.name}`);
      assert.deepEqual(svc.backends.map((b) => b.address).sort(), coredns.map((p) => `${podIp(p)}:53`).sort());
      assert.equal(n.agent.serviceList()[0]!.frontend, '10.96.0.1:443');
    }
    assert.deepEqual(rt.problems, []);
  } finally {
    await rt.close();
  }
});

test('deployDemo: Running pods with IPs from their node, CiliumEndpoints with shared identities ≥ 256, the lab layout', async () => {
  const { rt } = await startCluster();
  try {
    rt.deployDemo();
    const demo = pods(rt, 'demo');
    assert.equal(demo.length, 5);
    for (const p of demo) {
      assert.equal(status(p)['phase'], 'Running', p.metadata.name);
      const ready = (status(p)['conditions'] as { type: string; status: string }[]).find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True');
      const node = rt.node(nodeOf(p))!;
      assert.equal(node.role, 'worker');
      assert.ok(cidrContains(node.podCidr.addr, node.podCidr.prefixLen, parseIpv4Addr(podIp(p))!), `${podIp(p)} in ${node.name}'s CIDR`);
      assert.equal(status(p)['hostIP'], ipv4ToString(node.ip));
      const cep = cepOf(rt, p);
      assert.equal(cep.ip, podIp(p));
      assert.equal(cep.node, ipv4ToString(node.ip));
      assert.equal(cep.state, 'ready');
      assert.ok(cep.identity >= 256 && cep.identity <= 65535, `identity ${cep.identity}`);
      assert.ok(cep.id >= 1 && cep.id <= 4095);
      assert.ok(cep.labels.includes('k8s:io.kubernetes.pod.namespace=demo'));
      assert.ok(cep.labels.includes(`k8s:app=${p.metadata.labels!['app']}`));
      assert.ok(!cep.labels.some((l) => l.includes('pod-template-hash')), 'pod-template-hash is not security relevant');
      // The endpoint is in the node's cilium_lxc with that ID and identity.
      assert.deepEqual(readMaps(node.dp).lxc.get(podIp(p)), { id: cep.id, identity: cep.identity, flags: 0 });
      assert.ok(readMaps(node.dp).names.includes(policyMapName(cep.id)));
    }
    const idOf = (app: string): number[] => pods(rt, 'demo', app).map((p) => cepOf(rt, p).identity);
    const [fe1, fe2] = idOf('frontend');
    const [be1, be2] = idOf('backend');
    assert.equal(fe1, fe2, 'same labels, same identity');
    assert.equal(be1, be2);
    assert.notEqual(fe1, be1);
    const cid = rt.cache.get(R.ciliumIdentities, undefined, String(fe1));
    assert.ok(cid, 'CiliumIdentity object named by the number');
    assert.equal((cid['security-labels'] as Record<string, string>)['k8s:app'], 'frontend');
    assert.equal(cid.metadata.labels?.['io.kubernetes.pod.namespace'], 'demo');

    // The lab's picture: the frontends where `kubectl exec ds/cilium` lands, the backends on other workers.
    const frontend = pods(rt, 'demo', 'frontend');
    const backend = pods(rt, 'demo', 'backend');
    assert.match(frontend[0]!.metadata.name ?? '', /^frontend-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const agents = pods(rt, 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'cilium');
    const dsNode = nodeOf(pickPod(agents)!);
    assert.deepEqual(frontend.map(nodeOf), [dsNode, dsNode]);
    assert.ok(backend.every((p) => nodeOf(p) !== dsNode), 'backends across VXLAN from the frontends');
    assert.notEqual(nodeOf(backend[0]!), nodeOf(backend[1]!), 'backend replicas spread');

    // ipcache on every node: each demo pod → its identity, behind its node (0.0.0.0 locally).
    for (const n of rt.nodes) {
      const maps = readMaps(n.dp);
      assert.deepEqual(maps.ipcache.get('0.0.0.0/0'), { identity: ReservedIdentity.WORLD, tunnel: '0.0.0.0' });
      assert.equal(maps.ipcache.get(`${ipv4ToString(n.ip)}/32`)?.identity, ReservedIdentity.HOST);
      for (const p of demo) {
        const local = nodeOf(p) === n.name;
        assert.deepEqual(maps.ipcache.get(`${podIp(p)}/32`), { identity: cepOf(rt, p).identity, tunnel: local ? '0.0.0.0' : status(p)['hostIP'] }, `${n.name}: ${p.metadata.name}`);
      }
      for (const other of rt.nodes) {
        if (other === n) continue;
        assert.equal(maps.tunnels.get(ipv4ToString(other.podCidr.addr)), ipv4ToString(other.ip), `${n.name} tunnels ${other.name}'s CIDR`);
        const expected = other.role === 'control-plane' ? ReservedIdentity.KUBE_APISERVER : ReservedIdentity.REMOTE_NODE;
        assert.deepEqual(maps.ipcache.get(`${ipv4ToString(other.ip)}/32`), { identity: expected, tunnel: ipv4ToString(other.ip) });
      }
      // backend Service → both backend pods.
      const vip = String(spec(rt.cache.get(R.services, 'demo', 'backend')!)['clusterIP']);
      const svc = maps.services.get(`${vip}:8080`)!;
      assert.equal(svc.count, 2);
      assert.deepEqual(svc.slots.map((id) => maps.backends.get(id)).sort(), backend.map((p) => `${podIp(p)}:8080`).sort());
    }
  } finally {
    await rt.close();
  }
});

test('a frontend pod curls backend:8080/api/users: DNS via kube-dns, socket LB, VXLAN to the other node, and back', async () => {
  const { rt, exec } = await startCluster();
  try {
    rt.deployDemo();
    const frontend = pods(rt, 'demo', 'frontend')[0]!;
    const wire: Uint8Array[] = [];
    rt.underlay.addTap((f) => wire.push(f));
    const r = await exec(`demo/${frontend.metadata.name}`, ['curl', '-s', 'http://backend:8080/api/users']);
    assert.equal(r.code, 0, r.stderr);
    const users = JSON.parse(r.stdout) as { name: string }[];
    assert.equal(users[0]?.name, 'Alice Johnson');

    const inner = wire.map((f) => dissectFrame(f, 0, f.length)).filter((d) => d.vxlan).map((d) => d.vxlan!.inner);
    const feIp = parseIpv4Addr(podIp(frontend))!;
    const dnsIps = new Set(pods(rt, 'kube-system', 'kube-dns').map((p) => parseIpv4Addr(podIp(p))!));
    const backendIps = new Set(pods(rt, 'demo', 'backend').map((p) => parseIpv4Addr(podIp(p))!));
    // Every DNS packet and HTTP packet went pod to pod: socket LB translated the ClusterIPs before any packet existed.
    const tunnelled = inner.filter((d) => d.ipv4?.src === feIp);
    const dnsLocal = pods(rt, 'kube-system', 'kube-dns').some((p) => nodeOf(p) === nodeOf(frontend));
    if (!dnsLocal) assert.ok(tunnelled.some((d) => d.udp?.dstPort === 53 && dnsIps.has(d.ipv4!.dst)), 'DNS query crossed VXLAN to a CoreDNS pod');
    const http = tunnelled.filter((d) => d.tcp?.dstPort === 8080);
    for (const d of http) assert.ok(backendIps.has(d.ipv4!.dst), 'TCP to a backend pod IP, not the ClusterIP');
    // Curl again many times: socket LB picks both backends sooner or later, including the remote one.
    const vip = String(spec(rt.cache.get(R.services, 'demo', 'backend')!)['clusterIP']);
    for (let i = 0; i < 6; i++) {
      const again = await exec(`demo/${frontend.metadata.name}`, ['curl', '-s', `http://${vip}:8080/api/users`]);
      assert.equal(again.code, 0);
    }
    const remoteBackend = pods(rt, 'demo', 'backend').find((p) => nodeOf(p) !== nodeOf(frontend))!;
    const seen = wire.map((f) => dissectFrame(f, 0, f.length)).filter((d) => d.vxlan && d.vxlan.inner.ipv4?.dst === parseIpv4Addr(podIp(remoteBackend)));
    assert.ok(seen.length > 0, 'some requests reached the backend on the other node over VXLAN');
    assert.equal(seen[0]!.vxlan!.vni, cepOf(rt, frontend).identity, 'VNI carries the frontend identity');
  } finally {
    await rt.close();
  }
});

test('deleting a pod removes its entries from every node', async () => {
  const { rt } = await startCluster();
  try {
    rt.deployDemo();
    // A bare pod: nothing recreates it, so every trace of it must go.
    const made = rt.api.create(R.pods, 'demo', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probe', labels: { app: 'backend' } },
      spec: { containers: [{ name: 'probe', image: 'ghcr.io/podpath/demo-backend:1.0', ports: [{ name: 'http', containerPort: 8080 }] }] },
    });
    assert.ok(made.ok);
    const probe = rt.cache.get(R.pods, 'demo', 'probe')!;
    const ip = podIp(probe);
    const cep = cepOf(rt, probe);
    const home = rt.node(nodeOf(probe))!;
    const vip = String(spec(rt.cache.get(R.services, 'demo', 'backend')!)['clusterIP']);
    for (const n of rt.nodes) {
      const maps = readMaps(n.dp);
      assert.equal(maps.ipcache.get(`${ip}/32`)?.identity, cep.identity, `${n.name} knows the probe`);
      assert.ok(maps.services.get(`${vip}:8080`)!.slots.some((id) => maps.backends.get(id) === `${ip}:8080`), `${n.name}: probe is a backend`);
    }
    assert.ok(readMaps(home.dp).lxc.has(ip));
    assert.ok(home.kernel.endpoints.has(cep.id));

    assert.ok(rt.api.delete(R.pods, 'demo', 'probe').ok);
    // Read-your-writes: realized on every node by the time the delete returns.
    for (const n of rt.nodes) {
      const maps = readMaps(n.dp);
      assert.equal(maps.ipcache.has(`${ip}/32`), false, `${n.name}: ipcache entry gone`);
      assert.equal([...maps.backends.values()].includes(`${ip}:8080`), false, `${n.name}: backend gone`);
      assert.equal(maps.services.get(`${vip}:8080`)!.count, 2);
    }
    const homeMaps = readMaps(home.dp);
    assert.equal(homeMaps.lxc.has(ip), false, 'cilium_lxc entry gone');
    assert.equal(homeMaps.names.includes(policyMapName(cep.id)), false, 'policy map gone');
    assert.equal(home.kernel.endpoints.has(cep.id), false, 'lxc device detached');
    assert.equal(home.agent.ipam.ownerOf(parseIpv4Addr(ip)!), undefined, 'address released');
    assert.equal(rt.cache.get(R.ciliumEndpoints, 'demo', 'probe'), undefined, 'CiliumEndpoint deleted');
    assert.equal(home.kubelet.running('demo', 'probe'), undefined);

    // A pod owned by a ReplicaSet is replaced, and the replacement is realized too.
    const victim = pods(rt, 'demo', 'backend')[0]!;
    assert.ok(rt.api.delete(R.pods, 'demo', victim.metadata.name ?? '').ok);
    const backends = pods(rt, 'demo', 'backend');
    assert.equal(backends.length, 2);
    assert.ok(backends.every((p) => p.metadata.name !== victim.metadata.name && status(p)['phase'] === 'Running'));
    for (const n of rt.nodes) {
      const maps = readMaps(n.dp);
      assert.deepEqual(maps.services.get(`${vip}:8080`)!.slots.map((id) => maps.backends.get(id)).sort(), backends.map((p) => `${podIp(p)}:8080`).sort());
    }
  } finally {
    await rt.close();
  }
});

test('scaling a deployment up and down is realized in pods, EndpointSlices and every node\'s LB maps', async () => {
  const { rt } = await startCluster();
  try {
    rt.deployDemo();
    const scale = (n: number): void => {
      const r = rt.api.patch(R.deployments, 'demo', 'backend', 'merge', { spec: { replicas: n } });
      assert.ok(r.ok, r.ok ? '' : r.status.message);
    };
    scale(6);
    let backends = pods(rt, 'demo', 'backend');
    assert.equal(backends.length, 6);
    assert.ok(backends.every((p) => status(p)['phase'] === 'Running'));
    const perNode = new Map<string, number>();
    for (const p of backends) perNode.set(nodeOf(p), (perNode.get(nodeOf(p)) ?? 0) + 1);
    assert.deepEqual([...perNode.values()].sort(), [2, 2, 2], 'spread over the three workers');
    const vip = String(spec(rt.cache.get(R.services, 'demo', 'backend')!)['clusterIP']);
    for (const n of rt.nodes) assert.equal(readMaps(n.dp).services.get(`${vip}:8080`)!.count, 6);
    const deploy = rt.cache.get(R.deployments, 'demo', 'backend')!;
    assert.equal((deploy['status'] as { readyReplicas: number }).readyReplicas, 6);

    scale(1);
    backends = pods(rt, 'demo', 'backend');
    assert.equal(backends.length, 1);
    for (const n of rt.nodes) {
      const maps = readMaps(n.dp);
      const svc = maps.services.get(`${vip}:8080`)!;
      assert.equal(svc.count, 1);
      assert.equal(svc.slots.length, 1, 'stale slots removed');
      assert.deepEqual(svc.slots.map((id) => maps.backends.get(id)), [`${podIp(backends[0]!)}:8080`]);
    }
    const slices = rt.cache.list(R.endpointSlices, 'demo').filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'backend');
    assert.equal(slices.length, 1);
    assert.deepEqual((slices[0]!['endpoints'] as { addresses: string[] }[]).map((e) => e.addresses[0]), [podIp(backends[0]!)]);
    assert.deepEqual(slices[0]!['ports'], [{ name: 'http', port: 8080, protocol: 'TCP' }], 'named targetPort resolved');
  } finally {
    await rt.close();
  }
});

test('a node reaches pods from its host namespace: a local pod, a pod across VXLAN, and a ClusterIP', async () => {
  const { rt, exec } = await startCluster();
  try {
    rt.deployDemo();
    const backend = pods(rt, 'demo', 'backend');
    for (const node of rt.nodes.filter((n) => n.role === 'worker')) {
      for (const p of backend) {
        const r = await exec(`node/${node.name}`, ['curl', '-s', `http://${podIp(p)}:8080/api/users`]);
        assert.equal(r.code, 0, `${node.name} → ${p.metadata.name}: ${r.stderr}`);
        assert.match(r.stdout, /Alice Johnson/);
      }
    }
    const r = await exec('node/kind-control-plane', ['curl', '-s', 'http://backend.demo.svc.cluster.local:8080/health']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await rt.close();
  }
});

test('labeling a pod gives it a new identity everywhere before the write returns', async () => {
  const { rt } = await startCluster();
  try {
    rt.deployDemo();
    const p = pods(rt, 'demo', 'frontend')[0]!;
    const before = cepOf(rt, p).identity;
    const r = rt.api.patch(R.pods, 'demo', p.metadata.name ?? '', 'merge', { metadata: { labels: { tier: 'web' } } });
    assert.ok(r.ok);
    const after = cepOf(rt, p).identity;
    assert.notEqual(after, before);
    assert.ok(cepOf(rt, p).labels.includes('k8s:tier=web'));
    for (const n of rt.nodes) assert.equal(readMaps(n.dp).ipcache.get(`${podIp(p)}/32`)?.identity, after, n.name);
    assert.equal(readMaps(rt.node(nodeOf(p))!.dp).lxc.get(podIp(p))?.identity, after);
    // Writes that bypass the settling API (the daemon's HTTP handler) settle on the microtask queue.
    const direct = rt.apiServer.patch(R.pods, 'demo', p.metadata.name ?? '', 'merge', { metadata: { labels: { tier: null } } });
    assert.ok(direct.ok);
    await Promise.resolve();
    assert.equal(cepOf(rt, p).identity, before, 'back to the shared frontend identity');
  } finally {
    await rt.close();
  }
});

test('a restart on the same SQLite file keeps identities, pod IPs, endpoint IDs and service addresses', async () => {
  const dbPath = tempDb();
  const first = await startCluster({ dbPath });
  first.rt.deployDemo();
  const snapshot = (rt: typeof first.rt): string[] =>
    pods(rt, 'demo').map((p) => {
      const c = cepOf(rt, p);
      return `${p.metadata.name} ${nodeOf(p)} ip=${podIp(p)} ep=${c.id} id=${c.identity}`;
    });
  const before = snapshot(first.rt);
  const routers = first.rt.nodes.map((n) => ipv4ToString(n.agent.routerIp));
  const hostEps = first.rt.nodes.map((n) => n.agent.hostEndpointId);
  const vip = spec(first.rt.cache.get(R.services, 'demo', 'backend')!)['clusterIP'];
  await first.rt.close();

  const second = await startCluster({ dbPath });
  try {
    assert.equal(second.rt.restored, true);
    assert.deepEqual(snapshot(second.rt), before);
    assert.deepEqual(second.rt.nodes.map((n) => ipv4ToString(n.agent.routerIp)), routers);
    assert.deepEqual(second.rt.nodes.map((n) => n.agent.hostEndpointId), hostEps);
    assert.equal(spec(second.rt.cache.get(R.services, 'demo', 'backend')!)['clusterIP'], vip);
    assert.equal(pods(second.rt, 'kube-system', 'cilium').length, 4, 'no duplicate system pods');
    for (const n of second.rt.nodes) {
      for (const p of pods(second.rt, 'demo')) assert.ok(readMaps(n.dp).ipcache.has(`${podIp(p)}/32`), `${n.name} restored ${p.metadata.name}`);
    }
    const r = await second.exec(`demo/${pods(second.rt, 'demo', 'frontend')[0]!.metadata.name}`, ['curl', '-s', 'http://backend:8080/api/users']);
    assert.equal(r.code, 0, r.stderr);
    // New pods after the restart get fresh numbers that do not collide with the restored ones.
    second.rt.api.patch(R.deployments, 'demo', 'frontend', 'merge', { spec: { replicas: 4 } });
    const ids = new Map<string, number[]>();
    for (const p of pods(second.rt, 'demo')) ids.set(nodeOf(p), [...(ids.get(nodeOf(p)) ?? []), cepOf(second.rt, p).id]);
    for (const list of ids.values()) assert.equal(new Set(list).size, list.length, 'endpoint IDs unique per node');
    assert.equal(new Set(pods(second.rt, 'demo').map(podIp)).size, pods(second.rt, 'demo').length, 'pod IPs unique');
    assert.deepEqual(second.rt.problems, []);
  } finally {
    await second.rt.close();
  }
});
