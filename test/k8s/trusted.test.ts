// The trusted write path (controllers, kubelets, agents in process): its cheap
// decode must store exactly what the full decode stores, hand anything odd to
// the full decode, and leave the store unchanged when a write is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupResource, type ResourceInfo } from '../../src/k8s/resources.js';
import { decode, decodeTrustedBody } from '../../src/k8s/validation/index.js';
import { ApiServer } from '../../src/k8s/apiserver.js';
import { Store } from '../../src/k8s/store.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';

const r = (name: string): ResourceInfo => lookupResource(name)!;

const POD_STATUS = {
  conditions: [
    { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' },
    { type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z' },
  ],
  containerStatuses: [
    {
      containerID: 'containerd://abc',
      image: 'nginx:1.27',
      imageID: 'docker.io/library/nginx@sha256:00',
      name: 'web',
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: '2024-05-01T10:00:00Z' } },
    },
  ],
  hostIP: '172.18.0.3',
  hostIPs: [{ ip: '172.18.0.3' }],
  phase: 'Running',
  podIP: '10.244.1.17',
  podIPs: [{ ip: '10.244.1.17' }],
  qosClass: 'BestEffort',
  startTime: '2024-05-01T10:00:00Z',
};

/** Bodies as the cluster's components write them, one or more per kind. */
const BODIES: [string, Record<string, unknown>][] = [
  [
    'pods',
    {
      metadata: {
        generateName: 'web-5d4f8c7b9-',
        namespace: 'demo',
        labels: { app: 'web', 'pod-template-hash': '5d4f8c7b9' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d4f8c7b9', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        nodeName: 'kind-worker',
        containers: [{ name: 'web', image: 'nginx:1.27', args: ['-g', 'daemon off;'], ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }], env: [{ name: 'A', value: '1' }], resources: {} }],
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
        securityContext: {},
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      },
      status: POD_STATUS,
      kind: 'Pod',
      apiVersion: 'v1',
    },
  ],
  [
    'ciliumendpoints.cilium.io',
    {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumEndpoint',
      metadata: { name: 'web-1', namespace: 'demo', labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: 'u-2', blockOwnerDeletion: true }] },
      status: {
        encryption: {},
        id: 1234,
        identity: { id: 40937, labels: ['k8s:app=web'] },
        networking: { addressing: [{ ipv4: '10.244.1.17' }], node: '172.18.0.3' },
        policy: { egress: { enforcing: false, state: '<status disabled>' }, ingress: { enforcing: false, state: '<status disabled>' } },
        state: 'ready',
        nothing: null,
      },
    },
  ],
  ['ciliumidentities.cilium.io', { apiVersion: 'cilium.io/v2', kind: 'CiliumIdentity', metadata: { name: '40937', labels: { app: 'web' } }, 'security-labels': { 'k8s:app': 'web' } }],
  [
    'ciliumnodes.cilium.io',
    { metadata: { name: 'kind-worker' }, spec: { addresses: [{ type: 'InternalIP', ip: '172.18.0.3' }], ipam: { podCIDRs: ['10.244.1.0/24'], pools: {} } }, apiVersion: 'cilium.io/v2', kind: 'CiliumNode' },
  ],
  [
    'replicasets.apps',
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-5d4f8c7b9', namespace: 'demo', annotations: { 'deployment.kubernetes.io/revision': '1' } },
      spec: { replicas: 2, minReadySeconds: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
      status: { replicas: 2, fullyLabeledReplicas: 2, observedGeneration: 1, readyReplicas: 2, availableReplicas: 2 },
    },
  ],
  [
    'deployments.apps',
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'demo', generation: 1 },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } } },
      status: {
        observedGeneration: 1,
        replicas: 2,
        conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok', lastUpdateTime: '2024-05-01T10:00:00Z', lastTransitionTime: '2024-05-01T10:00:00Z' }],
      },
    },
  ],
  [
    'endpointslices.discovery.k8s.io',
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { generateName: 'web-', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.17'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'kind-worker', targetRef: { kind: 'Pod', namespace: 'demo', name: 'web-1', uid: 'u-2' } }],
      ports: [{ name: '', port: 80, protocol: 'TCP' }],
    },
  ],
  ['services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'demo' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http', protocol: 'TCP' }], type: 'ClusterIP' } }],
  [
    'nodes',
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'kind-worker', labels: { 'kubernetes.io/hostname': 'kind-worker' } },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
      status: { capacity: { cpu: '4', pods: '110' }, allocatable: { pods: 110 }, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-05-01T10:00:00Z' }] },
    },
  ],
];

/** The same value with every object's keys in reverse order. */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]));
  return v;
}

test('the trusted decode stores exactly what the full decode stores, key order included', () => {
  for (const [name, body] of BODIES) {
    for (const variant of [body, reversed(body) as Record<string, unknown>]) {
      const full = decode(r(name), structuredClone(variant));
      assert.ok(full.ok, `${name}: full decode accepts it`);
      const fast = decodeTrustedBody(r(name), variant);
      assert.ok(fast, `${name}: the trusted decode takes it`);
      assert.equal(JSON.stringify(fast), JSON.stringify(full.obj), name);
    }
  }
});

test('the trusted decode hands odd bodies to the full decode', () => {
  const pods = r('pods');
  const pod = BODIES[0]![1];
  const odd: Record<string, unknown>[] = [
    { ...pod, extra: 1 },
    { ...pod, spec: { ...(pod['spec'] as object), containerz: [] } },
    { ...pod, spec: { ...(pod['spec'] as object), containers: [null] } },
    { ...pod, spec: { ...(pod['spec'] as object), nodeName: 7 } },
    { ...pod, metadata: { name: 'p', labels: { a: 1 } } },
    { ...pod, kind: 'Service' },
    { ...pod, apiVersion: 'v2' },
    { ...pod, status: { ...POD_STATUS, restartCount: 1.5 } },
  ];
  for (const body of odd) assert.equal(decodeTrustedBody(pods, body), undefined, JSON.stringify(body).slice(0, 120));
  assert.equal(decodeTrustedBody(pods, 'text'), undefined);
});

test('a refused trusted write answers like any write and changes nothing', () => {
  const clock = new VirtualClock();
  const store = new Store({ path: ':memory:', clock, rng: new Rng(7) });
  const api = new ApiServer({ store, clock });
  const pods = r('pods');
  const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
  const before = store.dump();
  const unknown = api.trusted.create(pods, 'default', { ...body, spec: { ...body.spec, bogus: true } });
  const publicAnswer = api.create(pods, 'default', { ...body, spec: { ...body.spec, bogus: true } });
  assert.ok(!unknown.ok && !publicAnswer.ok);
  assert.deepEqual(unknown.status, publicAnswer.status);
  const invalid = api.trusted.create(pods, 'default', { ...body, metadata: { name: 'Not_A_Name', namespace: 'default' } });
  assert.ok(!invalid.ok);
  assert.equal(invalid.status.code, 422);
  assert.equal(store.dump(), before);

  const made = api.trusted.create(pods, 'default', body);
  assert.ok(made.ok);
  assert.ok(Object.isFrozen(made.obj), 'trusted writers get the stored object itself');
  const viaPublic = api.get(pods, 'default', 'p');
  assert.ok(viaPublic.ok && !Object.isFrozen(viaPublic.obj), 'public readers get a copy they may edit');
  assert.deepEqual(viaPublic.obj, made.obj);
  const status = api.trusted.update(pods, 'default', 'p', { ...structuredClone(made.obj as KubeObject), status: { phase: 'Running' } }, { subresource: 'status' });
  assert.ok(status.ok);
  assert.equal((status.obj['status'] as { phase: string }).phase, 'Running');
  const same = api.trusted.update(pods, 'default', 'p', structuredClone(status.obj), { subresource: 'status' });
  assert.ok(same.ok);
  assert.equal(same.obj.metadata.resourceVersion, status.obj.metadata.resourceVersion, 'a no-op update writes nothing');
  store.close();
});

test('a status write keeps the stored spec itself, and still defaults a spec stored before a default existed', () => {
  const clock = new VirtualClock();
  const store = new Store({ path: ':memory:', clock, rng: new Rng(9) });
  const api = new ApiServer({ store, clock });
  const pods = r('pods');
  const made = api.trusted.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  assert.ok(made.ok);
  const running = api.trusted.update(pods, 'default', 'p', { ...made.obj, status: { phase: 'Running' } }, { subresource: 'status' });
  assert.ok(running.ok);
  assert.equal(running.obj['spec'], made.obj['spec'], 'the frozen spec is shared, not copied');
  assert.equal((running.obj['status'] as { qosClass?: string }).qosClass, 'BestEffort', 'status defaults still apply');

  // A pod stored without a default that exists now (an older store): the status write defaults a copy.
  const old = store.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'old', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } });
  const viaTrusted = api.trusted.update(pods, 'default', 'old', { ...old, status: { phase: 'Running' } }, { subresource: 'status' });
  assert.ok(viaTrusted.ok, viaTrusted.ok ? '' : viaTrusted.status.message);
  const spec = viaTrusted.obj['spec'] as { restartPolicy?: string; containers: { imagePullPolicy?: string }[] };
  assert.equal(spec.restartPolicy, 'Always');
  assert.equal(spec.containers[0]!.imagePullPolicy, 'IfNotPresent');
  // The public API answers the same for a status write.
  const viaPublic = api.update(pods, 'default', 'p', { ...running.obj, status: { phase: 'Succeeded' } }, { subresource: 'status' });
  assert.ok(viaPublic.ok);
  assert.deepEqual(viaPublic.obj['spec'], made.obj['spec']);
  store.close();
});
