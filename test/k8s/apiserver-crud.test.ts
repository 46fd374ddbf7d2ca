import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { lookupResource } from '../../src/k8s/resources.js';
import { KubeClient } from '../../src/k8s/client.js';
import type { KubeList, KubeObject } from '../../src/k8s/types.js';
import { deployment, pod, service, startApiServer, tempDir } from './harness.js';

function must<T>(r: { ok: true; obj: T } | { ok: false; status: { message?: string } }): T {
  if (!r.ok) assert.fail(`request failed: ${r.status.message}`);
  return r.obj;
}

// One valid manifest of every served kind.
const MANIFESTS: Record<string, KubeObject> = {
  namespaces: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
  nodes: {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { podCIDR: '10.0.1.0/24', podCIDRs: ['10.0.1.0/24'] },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.1.11' }], capacity: { cpu: '4', memory: '8Gi', pods: '110' } },
  },
  pods: pod('web-1'),
  services: service('web'),
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { 'app.conf': 'debug=true' } },
  serviceaccounts: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } },
  events: {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-1.17f0' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' },
    reason: 'Scheduled',
    message: 'Successfully assigned default/web-1 to node-1',
    type: 'Normal',
    count: 1,
    firstTimestamp: '2026-01-01T00:00:00Z',
  },
  endpointslices: {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-x2k4q', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.1.5'], conditions: { ready: true }, nodeName: 'node-1' }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  },
  deployments: deployment('frontend'),
  replicasets: {
    ...deployment('frontend-5d9c'),
    kind: 'ReplicaSet',
  },
  daemonsets: {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'cilium', namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'cilium' } },
      template: { metadata: { labels: { 'k8s-app': 'cilium' } }, spec: { hostNetwork: true, containers: [{ name: 'cilium-agent', image: 'quay.io/cilium/cilium:v1.16.0' }] } },
    },
  },
  networkpolicies: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'deny-all' },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  },
  ciliumnetworkpolicies: {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'allow-frontend' },
    spec: {
      endpointSelector: { matchLabels: { app: 'backend' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }],
    },
  },
  ciliumclusterwidenetworkpolicies: {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: 'allow-dns' },
    specs: [{ endpointSelector: {}, egress: [{ toEndpoints: [{ matchLabels: { 'k8s:k8s-app': 'kube-dns' } }] }] }],
  },
  ciliumendpoints: {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumEndpoint',
    metadata: { name: 'web-1' },
    status: { id: 1234, identity: { id: 56789, labels: ['k8s:app=web'] }, networking: { addressing: [{ ipv4: '10.0.1.5' }], node: '192.168.1.11' } },
  },
  ciliumidentities: {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumIdentity',
    metadata: { name: '56789', labels: { 'io.kubernetes.pod.namespace': 'default' } },
    'security-labels': { 'k8s:app': 'web', 'k8s:io.kubernetes.pod.namespace': 'default' },
  },
  ciliumnodes: {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNode',
    metadata: { name: 'node-1' },
    spec: { addresses: [{ type: 'InternalIP', ip: '192.168.1.11' }], ipam: { podCIDRs: ['10.0.1.0/24'] } },
  },
};

test('the socket is private: mode 0600 inside a 0700 directory; health endpoints answer ok', async () => {
  const h = await startApiServer();
  try {
    assert.equal(statSync(h.socketPath).mode & 0o777, 0o600);
    assert.equal(statSync(h.dir).mode & 0o777, 0o700);
    for (const path of ['/healthz', '/readyz']) {
      const r = await h.http('GET', path);
      assert.equal(r.code, 200);
      assert.equal(r.text, 'ok');
    }
  } finally {
    await h.close();
  }
});

test('CRUD of every served kind over HTTP', async () => {
  const h = await startApiServer();
  try {
    for (const [plural, manifest] of Object.entries(MANIFESTS)) {
      const resource = lookupResource(plural)!;
      const ns = resource.namespaced ? (((manifest['metadata'] as Record<string, unknown>)['namespace'] as string | undefined) ?? 'default') : undefined;
      const name = (manifest['metadata'] as { name: string }).name;
      const opts = ns ? { namespace: ns } : {};

      const created = must(await h.client.create(manifest));
      assert.equal(created.metadata.name, name, plural);
      assert.equal(created.metadata.namespace, ns, `${plural} namespace`);
      assert.equal(created.metadata.creationTimestamp, '2026-01-01T00:00:00Z');

      const got = must(await h.client.get(plural, name, opts));
      assert.deepEqual(got, created, `${plural} get returns what create returned`);

      const list = must(await h.client.list(plural, opts));
      assert.equal(list.kind, `${resource.kind}List`);
      assert.ok(list.items.some((o) => o.metadata.name === name), `${plural} listed`);
      assert.equal(list.metadata.resourceVersion, String(h.store.resourceVersion));

      const relabelled = must(await h.client.update({ ...got, metadata: { ...got.metadata, labels: { ...got.metadata.labels, changed: 'yes' } } }));
      assert.equal(relabelled.metadata.labels?.['changed'], 'yes', plural);
      assert.ok(Number(relabelled.metadata.resourceVersion) > Number(got.metadata.resourceVersion));

      const patched = must(await h.client.patch(plural, name, { metadata: { annotations: { note: 'patched' } } }, { ...opts, type: 'merge' }));
      assert.equal(patched.metadata.annotations?.['note'], 'patched');
      assert.equal(patched.metadata.labels?.['changed'], 'yes');

      const deleted = must(await h.client.delete(plural, name, opts));
      assert.equal(deleted.metadata.name, name);
      const after = await h.client.get(plural, name, opts);
      assert.ok(!after.ok && after.status.code === 404, `${plural} gone`);
    }
  } finally {
    await h.close();
  }
});

test('built-in defaults and status handling on create', async () => {
  const h = await startApiServer();
  try {
    const p = must(await h.client.create(pod('defaults', { app: 'x' }, { nodeName: 'node-1' })));
    const spec = p['spec'] as { restartPolicy: string; dnsPolicy: string; containers: { ports: { protocol: string }[]; imagePullPolicy: string }[] };
    assert.equal(spec.restartPolicy, 'Always');
    assert.equal(spec.dnsPolicy, 'ClusterFirst');
    assert.equal(spec.containers[0]!.ports[0]!.protocol, 'TCP');
    assert.equal(spec.containers[0]!.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(p['status'], { phase: 'Pending', qosClass: 'BestEffort' });
    assert.equal(p.metadata.generation, 1);

    const s = must(await h.client.create(service('svc-defaults')));
    assert.deepEqual((s['spec'] as { ports: unknown[] }).ports, [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }]);
    assert.equal((s['spec'] as { type: string }).type, 'ClusterIP');

    const d = must(await h.client.create(deployment('dep-defaults')));
    const dspec = d['spec'] as Record<string, unknown>;
    assert.deepEqual(dspec['strategy'], { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    assert.equal(dspec['revisionHistoryLimit'], 10);

    const ns = must(await h.client.get('ns', 'default'));
    assert.equal(ns.metadata.labels?.['kubernetes.io/metadata.name'], 'default');
    assert.deepEqual(ns['status'], { phase: 'Active' });
  } finally {
    await h.close();
  }
});

test('list with label selectors and the spec.nodeName field selector', async () => {
  const h = await startApiServer();
  try {
    const specs: [string, Record<string, string>, string][] = [
      ['a', { app: 'web', tier: 'front' }, 'node-1'],
      ['b', { app: 'web', tier: 'back' }, 'node-2'],
      ['c', { app: 'db' }, 'node-1'],
      ['d', { app: 'db' }, ''],
    ];
    for (const [name, labels, node] of specs) must(await h.client.create(pod(name, labels, node ? { nodeName: node } : {})));
    const names = async (q: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> =>
      must(await h.client.list('pods', { namespace: 'default', ...q })).items.map((o) => o.metadata.name!);
    assert.deepEqual(await names({ labelSelector: 'app=web' }), ['a', 'b']);
    assert.deepEqual(await names({ labelSelector: 'app in (web,db),tier!=back' }), ['a', 'c', 'd']);
    assert.deepEqual(await names({ labelSelector: '!tier' }), ['c', 'd']);
    assert.deepEqual(await names({ fieldSelector: 'spec.nodeName=node-1' }), ['a', 'c']);
    assert.deepEqual(await names({ fieldSelector: 'spec.nodeName=' }), ['d']);
    assert.deepEqual(await names({ labelSelector: 'app=db', fieldSelector: 'spec.nodeName!=node-1' }), ['d']);
    const all = must(await h.client.list('pods', { fieldSelector: 'metadata.namespace=default', limit: 3 }));
    assert.equal(all.items.length, 3);
    assert.ok(all.metadata.continue);
    const rest = must(await h.client.list('pods', { limit: 3, continue: all.metadata.continue! }));
    assert.deepEqual(rest.items.map((o) => o.metadata.name), ['d']);
    const raw = await h.http('GET', '/api/v1/pods?labelSelector=' + encodeURIComponent('app=web'));
    assert.equal(raw.code, 200);
    assert.equal((raw.json as KubeList).items.length, 2);
  } finally {
    await h.close();
  }
});

test('a stale resourceVersion on update is a Conflict', async () => {
  const h = await startApiServer();
  try {
    const first = must(await h.client.create(pod('c1')));
    must(await h.client.patch('pods', 'c1', { metadata: { labels: { v: '2' } } }, { namespace: 'default' }));
    const before = h.store.dump();
    const stale = await h.client.update({ ...first, metadata: { ...first.metadata, labels: { v: 'stale' } } });
    assert.ok(!stale.ok);
    assert.equal(stale.status.code, 409);
    assert.equal(stale.status.reason, 'Conflict');
    assert.equal(
      stale.status.message,
      'Operation cannot be fulfilled on pods "c1": the object has been modified; please apply your changes to the latest version and try again',
    );
    assert.deepEqual(stale.status.details, { name: 'c1', group: '', kind: 'pods' });
    assert.equal(h.store.dump(), before);
  } finally {
    await h.close();
  }
});

test('merge patch, JSON patch and strategic merge patch over HTTP', async () => {
  const h = await startApiServer();
  try {
    must(await h.client.create(deployment('web')));
    const merged = must(await h.client.patch('deploy', 'web', { spec: { replicas: 5 }, metadata: { labels: { team: 'a' } } }, { namespace: 'default' }));
    assert.equal((merged['spec'] as { replicas: number }).replicas, 5);
    assert.equal(merged.metadata.generation, 2);

    const json = must(
      await h.client.patch(
        'deploy',
        'web',
        [
          { op: 'test', path: '/spec/replicas', value: 5 },
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.27' },
          { op: 'remove', path: '/metadata/labels/team' },
        ],
        { namespace: 'default', type: 'json' },
      ),
    );
    const containers = (json['spec'] as { template: { spec: { containers: { image: string; name: string }[] } } }).template.spec.containers;
    assert.equal(containers[0]!.image, 'nginx:1.27');
    assert.equal(json.metadata.labels, undefined);

    const strategic = must(
      await h.client.patch(
        'deploy',
        'web',
        { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'envoy:1' }] } } } },
        { namespace: 'default', type: 'strategic' },
      ),
    );
    const after = (strategic['spec'] as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers;
    assert.deepEqual(after.map((c) => c.name), ['app', 'sidecar'], 'strategic merge adds a container instead of replacing the list');

    const failedTest = await h.client.patch('deploy', 'web', [{ op: 'test', path: '/spec/replicas', value: 1 }], { namespace: 'default', type: 'json' });
    assert.ok(!failedTest.ok && failedTest.status.code === 422);
    assert.match(failedTest.status.message!, /testing value \/spec\/replicas failed/);

    must(await h.client.create({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p' }, spec: { endpointSelector: {} } }));
    const smpOnCrd = await h.client.patch('cnp', 'p', { spec: {} }, { namespace: 'default', type: 'strategic' });
    assert.ok(!smpOnCrd.ok && smpOnCrd.status.code === 415 && smpOnCrd.status.reason === 'UnsupportedMediaType');

    const missing = await h.client.patch('deploy', 'nope', { spec: {} }, { namespace: 'default' });
    assert.ok(!missing.ok && missing.status.message === 'deployments.apps "nope" not found');

    const wrongType = await h.http('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', '{}', { 'Content-Type': 'application/json' });
    assert.equal(wrongType.code, 415);
  } finally {
    await h.close();
  }
});

test('generateName over HTTP', async () => {
  const h = await startApiServer({ seed: 11 });
  try {
    const body: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'frontend-' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    const a = must(await h.client.create(body));
    const b = must(await h.client.create(body));
    assert.match(a.metadata.name!, /^frontend-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.notEqual(a.metadata.name, b.metadata.name);
    assert.equal(a.metadata.generateName, 'frontend-');
  } finally {
    await h.close();
  }
});

test('status subresource: /status writes only status, the main endpoint keeps status', async () => {
  const h = await startApiServer();
  try {
    const p = must(await h.client.create(pod('s1')));
    const running = must(
      await h.client.updateStatus({ ...p, spec: { containers: [] }, status: { phase: 'Running', podIP: '10.0.1.7', podIPs: [{ ip: '10.0.1.7' }] } }),
    );
    assert.equal((running['status'] as { phase: string }).phase, 'Running');
    assert.equal((running['spec'] as { containers: unknown[] }).containers.length, 1, 'spec untouched through /status');
    const relabel = must(await h.client.update({ ...running, metadata: { ...running.metadata, labels: { x: 'y' } }, status: { phase: 'Failed' } }));
    assert.equal((relabel['status'] as { phase: string }).phase, 'Running', 'status untouched through the main endpoint');
    const byIp = must(await h.client.list('pods', { fieldSelector: 'status.podIP=10.0.1.7' }));
    assert.equal(byIp.items.length, 1);
    const badIp = await h.client.patch('pods', 's1', { status: { podIP: '10.0.1.300' } }, { namespace: 'default', subresource: 'status' });
    assert.ok(!badIp.ok);
    assert.equal(
      badIp.status.message,
      'Pod "s1" is invalid: status.podIP: Invalid value: "10.0.1.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    );
  } finally {
    await h.close();
  }
});

test('discovery documents and /version describe the served resources', async () => {
  const h = await startApiServer();
  try {
    const core = (await h.http('GET', '/api/v1')).json as { resources: { name: string; shortNames?: string[]; categories?: string[] }[] };
    const pods = core.resources.find((r) => r.name === 'pods')!;
    assert.deepEqual(pods.shortNames, ['po']);
    assert.deepEqual(pods.categories, ['all']);
    assert.ok(core.resources.some((r) => r.name === 'pods/status'));
    const groups = (await h.http('GET', '/apis')).json as { groups: { name: string }[] };
    assert.deepEqual(
      groups.groups.map((g) => g.name),
      ['apps', 'discovery.k8s.io', 'networking.k8s.io', 'cilium.io'],
    );
    const cilium = (await h.http('GET', '/apis/cilium.io/v2')).json as { resources: { name: string; namespaced: boolean }[] };
    assert.equal(cilium.resources.find((r) => r.name === 'ciliumidentities')?.namespaced, false);
    const version = (await h.http('GET', '/version')).json as { major: string; minor: string };
    assert.deepEqual([version.major, version.minor], ['1', '32']);
    const openapi = (await h.http('GET', '/openapi/v3')).json as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['apis/cilium.io/v2']);
    assert.equal((await h.http('GET', '/apis/nope.io/v1')).code, 404);
  } finally {
    await h.close();
  }
});

test('YAML bodies and YAML answers; unacceptable Accept headers answer 406', async () => {
  const h = await startApiServer();
  try {
    const yamlBody = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: "1"\n';
    const created = await h.http('POST', '/api/v1/namespaces/default/configmaps', yamlBody, { 'Content-Type': 'application/yaml' });
    assert.equal(created.code, 201);
    const asYaml = await h.http('GET', '/api/v1/namespaces/default/configmaps/from-yaml', undefined, { Accept: 'application/yaml' });
    assert.equal(asYaml.headers['content-type'], 'application/yaml');
    assert.deepEqual((parseYaml(asYaml.text) as { data: unknown }).data, { a: '1' });
    const proto = await h.http('GET', '/api/v1/namespaces/default/configmaps/from-yaml', undefined, { Accept: 'application/vnd.kubernetes.protobuf' });
    assert.equal(proto.code, 406);
    assert.equal((proto.json as { reason: string }).reason, 'NotAcceptable');
    const partial = await h.http('GET', '/api/v1/namespaces/default/configmaps', undefined, {
      Accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json',
    });
    assert.equal((partial.json as { kind: string }).kind, 'ConfigMapList', 'unsupported alternatives fall back to the next choice');
  } finally {
    await h.close();
  }
});

test('TCP listener on 127.0.0.1 requires the bearer token', async () => {
  const h = await startApiServer();
  try {
    const port = await h.api.listenTcp(0, 's3cret');
    const get = (auth?: string): Promise<{ code: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/v1/namespaces', headers: auth ? { Authorization: auth } : {} }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const none = await get();
    assert.equal(none.code, 401);
    assert.deepEqual(JSON.parse(none.body), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    assert.equal((await get('Bearer wrong')).code, 401);
    assert.equal((await get('Basic czNjcmV0')).code, 401);
    assert.equal((await get('Bearer s3cret')).code, 200);
    const client = new KubeClient({ host: '127.0.0.1', port, token: 's3cret' });
    assert.ok((await client.get('ns', 'kube-system')).ok);
  } finally {
    await h.close();
  }
});

test('delete answers with the deleted object; system namespaces cannot be deleted', async () => {
  const h = await startApiServer();
  try {
    must(await h.client.create(pod('d1')));
    const r = await h.http('DELETE', '/api/v1/namespaces/default/pods/d1', JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }));
    assert.equal(r.code, 200);
    assert.equal((r.json as KubeObject).metadata.name, 'd1');
    const again = await h.http('DELETE', '/api/v1/namespaces/default/pods/d1');
    assert.equal(again.code, 404);
    const ns = await h.client.delete('ns', 'default');
    assert.ok(!ns.ok && ns.status.code === 403);
    assert.equal(ns.status.message, 'namespaces "default" is forbidden: this namespace may not be deleted');
    must(await h.client.create(pod('d2', { app: 'gone' })));
    must(await h.client.create(pod('d3', { app: 'gone' })));
    must(await h.client.create(pod('d4', { app: 'kept' })));
    const collection = await h.http('DELETE', '/api/v1/namespaces/default/pods?labelSelector=app%3Dgone');
    assert.equal(collection.code, 200);
    assert.deepEqual(
      (collection.json as KubeList).items.map((o) => o.metadata.name),
      ['d2', 'd3'],
    );
    assert.deepEqual(must(await h.client.list('pods', { namespace: 'default' })).items.map((o) => o.metadata.name), ['d4']);
    const allNamespaces = await h.http('DELETE', '/api/v1/namespaces');
    assert.equal(allNamespaces.code, 405);
    assert.ok((await h.client.get('ns', 'kube-node-lease')).ok);
  } finally {
    await h.close();
  }
});

test('TCP listener with TLS: the token travels only inside HTTPS', async (t) => {
  const dir = tempDir();
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=podpath',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' },
  );
  if (made.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    t.skip('openssl is not available to make a test certificate');
    return;
  }
  const h = await startApiServer();
  try {
    const cert = readFileSync(join(dir, 'cert.pem'));
    const port = await h.api.listenTcp(0, 'tls-token', { tls: { key: readFileSync(join(dir, 'key.pem')), cert } });
    const good = new KubeClient({ host: '127.0.0.1', port, token: 'tls-token', ca: cert });
    assert.ok((await good.get('ns', 'default')).ok);
    const wrongToken = await new KubeClient({ host: '127.0.0.1', port, token: 'nope', ca: cert }).get('ns', 'default');
    assert.ok(!wrongToken.ok && wrongToken.status.code === 401);
    const plain = await new KubeClient({ host: '127.0.0.1', port, token: 'tls-token' }).get('ns', 'default');
    assert.ok(!plain.ok, 'plain HTTP to the TLS port fails');
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scale subresource: an autoscaling/v1 Scale view of spec.replicas', async () => {
  const h = await startApiServer();
  try {
    must(await h.client.create(deployment('web')));
    const scale = must(await h.client.get('deploy', 'web', { namespace: 'default', subresource: 'scale' }));
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.apiVersion, 'autoscaling/v1');
    assert.deepEqual(scale['spec'], { replicas: 2 });
    assert.deepEqual(scale['status'], { replicas: 0, selector: 'app=web' });
    // What `kubectl scale deploy/web --replicas=5` sends.
    const scaled = must(await h.client.patch('deploy', 'web', { spec: { replicas: 5 } }, { namespace: 'default', subresource: 'scale' }));
    assert.deepEqual(scaled['spec'], { replicas: 5 });
    const d = must(await h.client.get('deploy', 'web', { namespace: 'default' }));
    assert.equal((d['spec'] as { replicas: number }).replicas, 5);
    assert.equal(d.metadata.generation, 2);
    const put = await h.http(
      'PUT',
      '/apis/apps/v1/namespaces/default/deployments/web/scale',
      JSON.stringify({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', resourceVersion: '1' }, spec: { replicas: 1 } }),
    );
    assert.equal(put.code, 409, 'a stale Scale is a conflict');
    const negative = await h.client.patch('deploy', 'web', { spec: { replicas: -1 } }, { namespace: 'default', subresource: 'scale' });
    assert.ok(!negative.ok);
    assert.equal(negative.status.message, 'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    const podsHaveNoScale = await h.http('GET', '/api/v1/namespaces/default/pods/x/scale');
    assert.equal(podsHaveNoScale.code, 404);
    const discovery = (await h.http('GET', '/apis/apps/v1')).json as { resources: { name: string; group?: string; kind: string }[] };
    assert.deepEqual(
      discovery.resources.find((r) => r.name === 'deployments/scale'),
      { name: 'deployments/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
    );
  } finally {
    await h.close();
  }
});

test('kubectl get asks for Tables: columns as Kubernetes and the Cilium CRDs print them', async () => {
  const h = await startApiServer();
  const accept = { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' };
  try {
    must(await h.client.create(pod('web-1', { app: 'web' }, { nodeName: 'node-1' })));
    must(
      await h.client.patch(
        'pods',
        'web-1',
        { status: { phase: 'Running', podIP: '10.0.1.5', containerStatuses: [{ name: 'app', ready: true, restartCount: 2, state: { running: {} } }] } },
        { namespace: 'default', subresource: 'status' },
      ),
    );
    h.clock.advance(3 * 60_000 + 20_000);
    const r = await h.http('GET', '/api/v1/namespaces/default/pods', undefined, accept);
    assert.equal(r.headers['content-type'], 'application/json;as=Table;v=v1;g=meta.k8s.io');
    const table = r.json as { kind: string; columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[] };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(
      table.columnDefinitions.map((c) => `${c.name}${c.priority ? '*' : ''}`),
      ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP*', 'Node*', 'Nominated Node*', 'Readiness Gates*'],
    );
    assert.deepEqual(table.rows[0]!.cells, ['web-1', '1/1', 'Running', '2', '3m20s', '10.0.1.5', 'node-1', '<none>', '<none>']);
    assert.equal(table.rows[0]!.object.kind, 'PartialObjectMetadata');
    assert.equal(table.rows[0]!.object.metadata.name, 'web-1');

    must(
      await h.client.create({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumEndpoint',
        metadata: { name: 'web-1' },
        status: { state: 'ready', identity: { id: 56789 }, networking: { addressing: [{ ipv4: '10.0.1.5' }] } },
      }),
    );
    const cep = (await h.http('GET', '/apis/cilium.io/v2/namespaces/default/ciliumendpoints/web-1', undefined, accept)).json as typeof table;
    assert.deepEqual(
      cep.columnDefinitions.map((c) => c.name),
      ['Name', 'Security Identity', 'Endpoint State', 'IPv4', 'IPv6'],
    );
    assert.deepEqual(cep.rows[0]!.cells, ['web-1', 56789, 'ready', '10.0.1.5', '']);

    // kubectl get asks for chunks of 500 (limit=500): a Table comes whole, without a continue token,
    // while the same list as objects is paged.
    for (const name of ['web-2', 'web-3']) must(await h.client.create(pod(name, { app: 'web' })));
    const whole = (await h.http('GET', '/api/v1/pods?limit=2', undefined, accept)).json as typeof table & { metadata: { continue?: string } };
    assert.deepEqual(whole.rows.map((row) => row.cells[0]), ['web-1', 'web-2', 'web-3']);
    assert.equal(whole.metadata.continue, undefined);
    const paged = (await h.http('GET', '/api/v1/pods?limit=2')).json as KubeList;
    assert.deepEqual(paged.items.map((o) => o.metadata.name), ['web-1', 'web-2']);
    assert.ok(paged.metadata.continue);
  } finally {
    await h.close();
  }
});
