// Controllers on their own terms: scheduling rules, ClusterIP allocation,
// rollouts, DaemonSets, namespaces, CoreDNS records, external hosts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R, type ControllerContext } from '../../src/cluster/controllers/common.js';
import { PolicyValidationController, POLICY_VALID_MESSAGE } from '../../src/cluster/controllers/policy-validation.js';
import { lookupResource } from '../../src/k8s/resources.js';
import type { StoreEvent } from '../../src/k8s/store.js';
import { toTable } from '../../src/k8s/tables.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { renderFieldErrors } from '../../src/k8s/validation/field.js';
import { validatePolicy } from '../../src/policy/validate.js';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';
import { DnsType } from '../../src/packet/dns.js';
import { ipv4ToString, parseIpv4Addr } from '../../src/packet/ip.js';
import { dissectFrame } from '../../src/packet/dissect.js';
import { nodeOf, podIp, pods, spec, startCluster, status } from './harness.js';
import { readMaps } from './maps.js';

const pod = (name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = { app: name }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name, image: 'nginx:1.27' }], ...extra },
});

test('scheduler: nodeName is honoured, an impossible nodeSelector leaves the pod Pending with the reason', async () => {
  const { rt } = await startCluster();
  try {
    assert.ok(rt.api.create(R.pods, 'default', pod('pinned', { nodeName: 'kind-control-plane' })).ok);
    const pinned = rt.cache.get(R.pods, 'default', 'pinned')!;
    assert.equal(nodeOf(pinned), 'kind-control-plane');
    assert.equal(status(pinned)['phase'], 'Running');
    assert.ok(podIp(pinned).startsWith('10.244.0.'));

    assert.ok(rt.api.create(R.pods, 'default', pod('nowhere', { nodeSelector: { disk: 'ssd' } })).ok);
    const nowhere = rt.cache.get(R.pods, 'default', 'nowhere')!;
    assert.equal(nodeOf(nowhere), '');
    assert.equal(status(nowhere)['phase'], 'Pending');
    const cond = (status(nowhere)['conditions'] as { type: string; status: string; reason: string; message: string }[]).find((c) => c.type === 'PodScheduled')!;
    assert.equal(cond.reason, 'Unschedulable');
    assert.match(cond.message, /^0\/4 nodes are available: 1 node\(s\) had untolerated taint \{node-role.kubernetes.io\/control-plane: \}, 3 node\(s\) didn't match Pod's node affinity\/selector\.$/);

    // Labeling a node makes it schedulable for the pod, before the label write returns.
    assert.ok(rt.api.patch(R.nodes, undefined, 'kind-worker2', 'merge', { metadata: { labels: { disk: 'ssd' } } }).ok);
    const placed = rt.cache.get(R.pods, 'default', 'nowhere')!;
    assert.equal(nodeOf(placed), 'kind-worker2');
    assert.equal(status(placed)['phase'], 'Running');
  } finally {
    await rt.close();
  }
});

test('scheduler: a node takes no more pods than status.allocatable.pods', async () => {
  const { rt } = await startCluster({ config: { workers: 1 } });
  try {
    const node = rt.cache.get(R.nodes, undefined, 'kind-worker')!;
    const st = structuredClone(node['status'] as { allocatable: Record<string, string> });
    st.allocatable['pods'] = '8';
    assert.ok(rt.api.update(R.nodes, undefined, 'kind-worker', { ...structuredClone(node), status: st }, { subresource: 'status' }).ok);
    const onWorker = rt.cache.podsOnNode('kind-worker').length;
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'many' },
      spec: { replicas: 10, selector: { matchLabels: { app: 'many' } }, template: { metadata: { labels: { app: 'many' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
    };
    assert.ok(rt.api.create(R.deployments, 'default', deploy).ok);
    const many = pods(rt, 'default', 'many');
    assert.equal(many.filter((p) => nodeOf(p) === 'kind-worker').length, 8 - onWorker);
    const pending = many.filter((p) => !nodeOf(p));
    assert.equal(pending.length, 10 - (8 - onWorker));
    const cond = (status(pending[0]!)['conditions'] as { type: string; message: string }[]).find((c) => c.type === 'PodScheduled')!;
    assert.match(cond.message, /^0\/2 nodes are available: 1 Too many pods, 1 node\(s\) had untolerated taint/);
  } finally {
    await rt.close();
  }
});

test('ClusterIPs: allocated from the upper band on create, static ones honoured, conflicts refused with the field', async () => {
  const { rt } = await startCluster();
  try {
    const svc = (name: string, clusterIP?: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) },
    });
    const made = rt.api.create(R.services, 'default', svc('web'));
    assert.ok(made.ok);
    const ip = parseIpv4Addr(String(spec(made.obj)['clusterIP']))!;
    assert.ok(ip >= parseIpv4Addr('10.96.1.0')! && ip <= parseIpv4Addr('10.96.255.254')!, ipv4ToString(ip));
    assert.deepEqual(spec(made.obj)['clusterIPs'], [ipv4ToString(ip)]);
    assert.ok(rt.api.create(R.services, 'default', svc('fixed', '10.96.0.50')).ok);
    const clash = rt.api.create(R.services, 'default', svc('clash', '10.96.0.50'));
    assert.equal(clash.ok, false);
    if (!clash.ok) assert.match(clash.status.message ?? '', /spec\.clusterIPs: Invalid value: \["10\.96\.0\.50"\]: failed to allocate IP 10\.96\.0\.50: provided IP is already allocated/);
    const outside = rt.api.create(R.services, 'default', svc('outside', '10.97.0.5'));
    assert.equal(outside.ok, false);
    assert.equal(rt.cache.get(R.services, 'default', 'clash'), undefined, 'a refused create stores nothing');
    // Every agent has the new frontends (with no backends yet).
    for (const n of rt.nodes) assert.equal(readMaps(n.dp).services.get(`${ipv4ToString(ip)}:80`)?.count, 0);
  } finally {
    await rt.close();
  }
});

test('a new pod template rolls the Deployment to a new ReplicaSet; old pods go, new ones run', async () => {
  const { rt } = await startCluster();
  try {
    rt.deployDemo();
    const before = pods(rt, 'demo', 'backend').map((p) => p.metadata.name);
    const r = rt.api.patch(R.deployments, 'demo', 'backend', 'strategic', { spec: { template: { metadata: { labels: { app: 'backend', version: 'v2' } } } } });
    assert.ok(r.ok, r.ok ? '' : r.status.message);
    const after = pods(rt, 'demo', 'backend');
    assert.equal(after.length, 2);
    assert.ok(after.every((p) => !before.includes(p.metadata.name) && p.metadata.labels?.['version'] === 'v2' && status(p)['phase'] === 'Running'));
    const rss = rt.cache.list(R.replicaSets, 'demo').filter((x) => x.metadata.name?.startsWith('backend-'));
    assert.equal(rss.length, 2);
    assert.deepEqual(rss.map((x) => (spec(x)['replicas'] as number)).sort(), [0, 2]);
    const newest = rss.find((x) => spec(x)['replicas'] === 2)!;
    assert.equal(newest.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  } finally {
    await rt.close();
  }
});

test('a user DaemonSet runs one pod per node it tolerates; deleting a namespace stops its pods and their endpoints', async () => {
  const { rt } = await startCluster();
  try {
    assert.ok(rt.api.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mon' } }).ok);
    assert.ok(rt.cache.get(R.serviceAccounts, 'mon', 'default'), 'default ServiceAccount created');
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'busybox' }] } } },
    };
    assert.ok(rt.api.create(R.daemonSets, 'mon', ds).ok);
    const agents = pods(rt, 'mon', 'agent');
    assert.deepEqual(agents.map(nodeOf).sort(), ['kind-worker', 'kind-worker2', 'kind-worker3'], 'the control plane is tainted');
    for (const p of agents) assert.match(p.metadata.name ?? '', /^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const ips = agents.map(podIp);

    assert.ok(rt.api.delete(R.namespaces, undefined, 'mon').ok);
    assert.equal(pods(rt, 'mon').length, 0);
    for (const n of rt.nodes) {
      const maps = readMaps(n.dp);
      for (const ip of ips) assert.equal(maps.ipcache.has(`${ip}/32`), false, `${n.name} forgot ${ip}`);
      assert.equal(n.kubelet.runningPods().some((p) => p.namespace === 'mon'), false);
    }
  } finally {
    await rt.close();
  }
});

test('CoreDNS records: services, pods, PTR, NXDOMAIN, external hosts; pods resolve through kube-dns', async () => {
  const { rt, exec } = await startCluster({ config: { externalHosts: [{ name: 'legacy-db', ip: '172.18.0.100', ports: [{ port: 5432 }] }] } });
  try {
    rt.deployDemo();
    const vip = String(spec(rt.cache.get(R.services, 'demo', 'backend')!)['clusterIP']);
    const lookup = (name: string) => rt.dns.lookup(name, DnsType.A);
    assert.deepEqual(lookup('backend.demo.svc.cluster.local'), { ips: [parseIpv4Addr(vip)] });
    assert.deepEqual(lookup('kube-dns.kube-system.svc.cluster.local'), { ips: [parseIpv4Addr('10.96.0.10')] });
    assert.equal(lookup('nothing.demo.svc.cluster.local'), 'NXDOMAIN');
    assert.deepEqual(lookup('demo.svc.cluster.local'), { ips: [] }, 'the namespace exists: NODATA');
    assert.deepEqual(lookup('10-244-1-5.demo.pod.cluster.local'), { ips: [parseIpv4Addr('10.244.1.5')] });
    assert.deepEqual(lookup('legacy-db'), { ips: [parseIpv4Addr('172.18.0.100')] }, 'the node resolver knows the external host');
    const reverse = vip.split('.').reverse().join('.') + '.in-addr.arpa';
    assert.deepEqual(rt.dns.lookup(reverse, DnsType.PTR), { ips: [], names: ['backend.demo.svc.cluster.local'] });

    const fe = pods(rt, 'demo', 'frontend')[0]!;
    const r = await exec(`demo/${fe.metadata.name}`, ['nslookup', 'backend.demo.svc.cluster.local']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Name:\\s+backend\\.demo\\.svc\\.cluster\\.local\\s+Address:\\s+${vip.replace(/\./g, '\\.')}`));
    const missing = await exec(`demo/${fe.metadata.name}`, ['nslookup', 'nope.demo.svc.cluster.local']);
    assert.notEqual(missing.code, 0);
  } finally {
    await rt.close();
  }
});

test('exec: unknown programs, unknown pods and external hosts', async () => {
  const { rt, exec } = await startCluster({ config: { externalHosts: [{ name: 'legacy-db', ip: '172.18.0.100', ports: [{ port: 8080 }], app: 'http' }] } });
  try {
    rt.deployDemo();
    const fe = pods(rt, 'demo', 'frontend')[0]!;
    const nope = await exec(`demo/${fe.metadata.name}`, ['frobnicate']);
    // As the real kubectl prints it against a containerd node (test/kubectl/real-exec.test.ts), and exits 1.
    assert.equal(nope.code, 1);
    assert.match(nope.stderr, /^error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "frobnicate": executable file not found in \$PATH: unknown\n$/);
    const ghost = await exec('demo/ghost', ['curl', 'http://backend:8080']);
    assert.equal(ghost.code, 1);
    assert.match(ghost.stderr, /pods "ghost" not found/);
    // The external host runs its app: it answers itself.
    const self = await exec('host/legacy-db', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://172.18.0.100:8080/']);
    assert.equal(self.stdout, '200', self.stderr);
    const hostname = await exec('node/kind-worker', ['hostname']);
    assert.equal(hostname.stdout, 'kind-worker\n');
  } finally {
    await rt.close();
  }
});

test('world traffic: a pod and a node reach an external host by name; the host sees the node address (masquerade)', async () => {
  const { rt, exec } = await startCluster({ config: { externalHosts: [{ name: 'legacy-db', ip: '172.18.0.100', ports: [{ port: 8080 }, { port: 7, protocol: 'UDP' }] }] } });
  try {
    rt.deployDemo();
    const fe = pods(rt, 'demo', 'frontend')[0]!;
    const wire: Uint8Array[] = [];
    rt.underlay.addTap((f) => wire.push(f));
    const r = await exec(`demo/${fe.metadata.name}`, ['curl', '-s', '-m', '5', 'http://legacy-db:8080/']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /legacy-db/);
    const node = rt.node(nodeOf(fe))!;
    const toHost = wire.map((f) => dissectFrame(f, 0, f.length)).filter((d) => !d.vxlan && d.ipv4?.dst === parseIpv4Addr('172.18.0.100') && d.tcp);
    assert.ok(toHost.length > 0);
    assert.ok(toHost.every((d) => d.ipv4!.src === node.ip), 'masqueraded to the node IP');
    const fromNode = await exec('node/kind-worker3', ['curl', '-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', 'http://172.18.0.100:8080/']);
    assert.equal(fromNode.stdout, '200', fromNode.stderr);
  } finally {
    await rt.close();
  }
});

test('the Star Wars demo: landing works; a crashed container shows CrashLoopBackOff and restarts after the back-off', async () => {
  const { rt, exec, clock } = await startCluster();
  try {
    const deathstar = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'deathstar', labels: { app: 'deathstar' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { org: 'empire', class: 'deathstar' } },
        template: {
          metadata: { labels: { org: 'empire', class: 'deathstar', 'app.kubernetes.io/name': 'deathstar' } },
          spec: { containers: [{ name: 'deathstar', image: 'docker.io/cilium/starwars', ports: [{ containerPort: 80 }] }] },
        },
      },
    };
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'deathstar' }, spec: { type: 'ClusterIP', selector: { org: 'empire', class: 'deathstar' }, ports: [{ port: 80 }] } };
    const tiefighter = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tiefighter', labels: { org: 'empire', class: 'tiefighter' } }, spec: { containers: [{ name: 'spaceship', image: 'docker.io/tgraf/netperf' }] } };
    for (const [r, o] of [[R.deployments, deathstar], [R.services, svc], [R.pods, tiefighter]] as const) assert.ok(rt.api.create(r, 'default', o).ok);
    const landed = await exec('default/tiefighter', ['curl', '-s', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing']);
    assert.equal(landed.stdout, 'Ship landed\n');

    const ds = rt.cache.list(R.pods, 'default').find((p) => p.metadata.labels?.['class'] === 'deathstar')!;
    await exec('default/tiefighter', ['curl', '-s', '-XPUT', 'deathstar.default.svc.cluster.local/v1/exhaust-port']);
    clock.advance(2_500);
    await Promise.resolve();
    const crashed = rt.cache.get(R.pods, 'default', ds.metadata.name ?? '')!;
    const cs = (status(crashed)['containerStatuses'] as { restartCount: number; state: { waiting?: { reason: string } }; lastState: { terminated: { exitCode: number } } }[])[0]!;
    assert.equal(cs.restartCount, 1);
    assert.equal(cs.state.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(cs.lastState.terminated.exitCode, 2);
    clock.advance(10_000);
    await Promise.resolve();
    const back = rt.cache.get(R.pods, 'default', ds.metadata.name ?? '')!;
    const ready = (status(back)['conditions'] as { type: string; status: string }[]).find((c) => c.type === 'Ready')!;
    assert.equal(ready.status, 'True');
    const again = await exec('default/tiefighter', ['curl', '-s', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing']);
    assert.equal(again.stdout, 'Ship landed\n');
  } finally {
    await rt.close();
  }
});

test('Endpoints follow a Service\'s pods: ready addresses in IP order with their node and pod, ports resolved per pod, none left when no pod matches, gone with the Service', async () => {
  const { rt } = await startCluster();
  try {
    const web = (name: string, port: number) =>
      pod(name, { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ name: 'http', containerPort: port }] }] }, { app: 'web' });
    for (const [name, port] of [['web-a', 8080], ['web-b', 8080], ['web-c', 9090]] as const) assert.ok(rt.api.create(R.pods, 'default', web(name, port)).ok);
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'admin', port: 81, targetPort: 9000 }] },
    };
    assert.ok(rt.api.create(R.services, 'default', svc).ok);
    const ep = rt.cache.get(R.endpoints, 'default', 'web')!;
    assert.deepEqual(ep.metadata.labels, { tier: 'front', 'endpointslice.kubernetes.io/skip-mirror': 'true' });
    const address = (name: string) => {
      const p = rt.cache.get(R.pods, 'default', name)!;
      return { ip: podIp(p), nodeName: nodeOf(p), targetRef: { kind: 'Pod', namespace: 'default', name, uid: p.metadata.uid } };
    };
    const byIp = (a: { ip: string }, b: { ip: string }) => (a.ip < b.ip ? -1 : 1);
    // web-a and web-b name port http 8080, web-c 9090: two subsets, as the pods resolve "http" differently.
    assert.deepEqual(ep['subsets'], [
      { addresses: [address('web-a'), address('web-b')].sort(byIp), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'admin', port: 9000, protocol: 'TCP' }] },
      { addresses: [address('web-c')], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }, { name: 'admin', port: 9000, protocol: 'TCP' }] },
    ]);

    // A selector that matches nothing leaves the object without subsets; the Service's deletion takes it away.
    assert.ok(rt.api.patch(R.services, 'default', 'web', 'merge', { spec: { selector: { app: 'none' } } }).ok);
    assert.equal(rt.cache.get(R.endpoints, 'default', 'web')!['subsets'], undefined);
    assert.ok(rt.api.delete(R.services, 'default', 'web').ok);
    assert.equal(rt.cache.get(R.endpoints, 'default', 'web'), undefined);
    // The apiserver's own Service keeps the Endpoints it was given.
    assert.deepEqual(rt.cache.get(R.endpoints, 'default', 'kubernetes')!['subsets'], [{ addresses: [{ ip: '172.18.0.2' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }]);
  } finally {
    await rt.close();
  }
});

test('network-policy-validator: a CiliumNetworkPolicy gets Valid=True "Policy validation succeeded", and kubectl get cnp shows VALID True', async () => {
  const { rt } = await startCluster();
  try {
    const cnp = lookupResource('ciliumnetworkpolicies.cilium.io')!;
    const made = rt.api.create(cnp, 'default', {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'allow-web' },
      spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] },
    });
    assert.ok(made.ok);
    const stored = rt.cache.get(cnp, 'default', 'allow-web')!;
    const conditions = (stored['status'] as { conditions: Record<string, string>[] }).conditions;
    assert.deepEqual(conditions.map(({ lastTransitionTime: _t, ...c }) => c), [{ type: 'Valid', status: 'True', message: POLICY_VALID_MESSAGE }]);
    assert.match(conditions[0]!['lastTransitionTime']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const table = toTable(cnp, [stored], rt.clock.wallNow());
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Age', 'Valid']);
    assert.equal(table.rows[0]!.cells[2], 'True');

    // A spec change keeps the condition (and its transition time): still valid, nothing to write.
    const rv = stored.metadata.resourceVersion;
    assert.ok(rt.api.patch(cnp, 'default', 'allow-web', 'merge', { spec: { ingress: [{ fromEndpoints: [{ matchLabels: { app: 'other' } }] }] } }).ok);
    const after = rt.cache.get(cnp, 'default', 'allow-web')!;
    assert.notEqual(after.metadata.resourceVersion, rv);
    assert.deepEqual((after['status'] as { conditions: unknown[] }).conditions, conditions);
  } finally {
    await rt.close();
  }
});

test('network-policy-validator: a stored policy the validation refuses gets Valid=False with the validation message', () => {
  const ccnp = lookupResource('ciliumclusterwidenetworkpolicies.cilium.io')!;
  // As a database restored from an older version could hold it: fromEndpoints and fromCIDR in one rule.
  const stored: KubeObject = {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: 'mixed', resourceVersion: '7' },
    spec: { endpointSelector: {}, ingress: [{ fromEndpoints: [{}], fromCIDR: ['10.0.0.0/8'] }] },
  };
  const writes: KubeObject[] = [];
  const clock = new VirtualClock();
  const controller = new PolicyValidationController({
    api: { update: (_r: unknown, _ns: unknown, _name: unknown, obj: KubeObject) => (writes.push(obj), { ok: true, obj }) } as unknown as ControllerContext['api'],
    cache: { get: () => stored } as unknown as ControllerContext['cache'],
    clock,
    rng: new Rng(1),
    report: () => {},
  });
  controller.observe({ type: 'ADDED', resource: ccnp, object: stored } as StoreEvent);
  controller.run();
  assert.equal(writes.length, 1);
  const [valid] = (writes[0]!['status'] as { conditions: Record<string, string>[] }).conditions;
  assert.equal(valid!['type'], 'Valid');
  assert.equal(valid!['status'], 'False');
  assert.equal(valid!['message'], renderFieldErrors(validatePolicy('CiliumClusterwideNetworkPolicy', stored as unknown as Record<string, unknown>)));
  assert.match(valid!['message']!, /spec\.ingress\[0\]/);
});
