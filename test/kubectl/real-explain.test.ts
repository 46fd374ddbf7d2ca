// The OpenAPI v3 documents: one schema per served kind, made from the zod
// schemas the apiserver decodes with, found by kubectl through its
// group-version-kind; lists carry the strategic-merge keys the server merges
// by. Checked on the documents themselves and with the real kubectl's
// `explain`, and by a client-side `kubectl apply` that removes a container:
// publishing schemas must not change the patch kubectl sends (it deletes the
// container, it does not keep it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApiGroupVersion, schemaName } from '../../src/k8s/openapi.js';
import { lookupResource } from '../../src/k8s/resources.js';
import { REAL_KUBECTL_SKIP, startCluster } from './harness.js';

type Schema = { properties?: Record<string, Schema>; items?: Schema; allOf?: { $ref: string }[]; [k: string]: unknown };

function componentSchemas(group: string, version: string): Record<string, Schema> {
  const doc = openApiGroupVersion(group, version) as { components: { schemas: Record<string, Schema> } } | undefined;
  assert.ok(doc, `${group}/${version} is served`);
  return doc.components.schemas;
}

function at(schema: Schema, path: string): Schema {
  let cur = schema;
  for (const part of path.split('.')) {
    const next = part === '[]' ? cur.items : cur.properties?.[part];
    assert.ok(next, `${path}: no ${part}`);
    cur = next;
  }
  return cur;
}

test('each served kind has a schema named as the apiserver names it, with its group-version-kind', () => {
  assert.equal(schemaName(lookupResource('pods')!), 'io.k8s.api.core.v1.Pod');
  assert.equal(schemaName(lookupResource('deployments')!), 'io.k8s.api.apps.v1.Deployment');
  assert.equal(schemaName(lookupResource('networkpolicies')!), 'io.k8s.api.networking.v1.NetworkPolicy');
  assert.equal(schemaName(lookupResource('endpointslices')!), 'io.k8s.api.discovery.v1.EndpointSlice');
  assert.equal(schemaName(lookupResource('ciliumnetworkpolicies')!), 'io.cilium.v2.CiliumNetworkPolicy');
  const core = componentSchemas('', 'v1');
  assert.deepEqual(core['io.k8s.api.core.v1.Pod']?.['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Pod', version: 'v1' }]);
  assert.equal(componentSchemas('cilium.io', 'v2')['io.cilium.v2.CiliumEndpoint']?.['x-kubernetes-group-version-kind'] !== undefined, true);
  assert.equal(openApiGroupVersion('nope.io', 'v1'), undefined);
});

test('lists carry the merge keys the server merges by; int-or-string fields are IntOrString; no JSON-Schema-only keywords', () => {
  const pod = componentSchemas('', 'v1')['io.k8s.api.core.v1.Pod']!;
  const containers = at(pod, 'spec.containers');
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(at(pod, 'spec.containers.[].ports')['x-kubernetes-patch-merge-key'], 'containerPort');
  assert.equal(at(pod, 'spec.containers.[].env')['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(at(pod, 'metadata.finalizers')['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(at(pod, 'metadata.finalizers')['x-kubernetes-patch-merge-key'], undefined, 'a set of strings has no key');
  assert.equal(at(pod, 'spec.containers.[].args')['x-kubernetes-patch-strategy'], undefined, 'args are replaced whole');
  const svc = componentSchemas('', 'v1')['io.k8s.api.core.v1.Service']!;
  assert.equal(at(svc, 'spec.ports')['x-kubernetes-patch-merge-key'], 'port');
  assert.deepEqual(at(svc, 'spec.ports.[].targetPort').allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }]);
  const text = JSON.stringify(componentSchemas('apps', 'v1'));
  assert.doesNotMatch(text, /"\$schema"|"propertyNames"|9007199254740991/);
  // Custom resources are merge-patched, as in real clusters: no strategic keys on their lists.
  assert.doesNotMatch(JSON.stringify(componentSchemas('cilium.io', 'v2')), /x-kubernetes-patch-merge-key/);
});

const DEPLOYMENT = (containers: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: two-containers
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: two}
  template:
    metadata:
      labels: {app: two}
    spec:
      containers:
${containers}`;
const MAIN = '      - name: main\n        image: nginx\n        ports:\n        - containerPort: 80\n';
const SIDECAR = '      - name: sidecar\n        image: busybox\n';

test('real kubectl: explain walks the published schemas; apply removing a container removes it', { skip: REAL_KUBECTL_SKIP }, async () => {
  const c = await startCluster('explain');
  try {
    const real = c.real!;
    const ports = real(['explain', 'pod.spec.containers.ports']);
    assert.equal(ports.code, 0, ports.err);
    assert.match(ports.out, /^KIND:\s+Pod\nVERSION:\s+v1\n/);
    assert.match(ports.out, /^FIELD: ports <\[\]Object>$/m);
    for (const field of ['containerPort\t<integer>', 'hostPort\t<integer>', 'name\t<string>', 'protocol\t<string>']) assert.ok(ports.out.includes(`  ${field}\n`), `${field} in\n${ports.out}`);
    assert.match(real(['explain', 'svc.spec.ports.targetPort']).out, /^FIELD: targetPort <IntOrString>$/m);
    assert.match(real(['explain', 'deploy.spec.strategy']).out, /^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n/);
    const missing = real(['explain', 'pod.spec.nonsense']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: field "nonsense" does not exist$/m);

    // Client-side apply with schemas published: dropping the sidecar still deletes it.
    const first = real(['apply', '-f', '-'], { input: DEPLOYMENT(MAIN + SIDECAR) });
    assert.equal(first.code, 0, first.err);
    const second = real(['apply', '-f', '-'], { input: DEPLOYMENT(MAIN) });
    assert.equal(second.code, 0, second.err);
    assert.equal(second.out, 'deployment.apps/two-containers configured\n');
    const names = real(['get', 'deploy', 'two-containers', '-o', 'jsonpath={.spec.template.spec.containers[*].name}']);
    assert.equal(names.out, 'main');
    const again = real(['apply', '-f', '-'], { input: DEPLOYMENT(MAIN) });
    assert.equal(again.out, 'deployment.apps/two-containers unchanged\n');
  } finally {
    await c.stop();
  }
});
