import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RESOURCES,
  apiVersionOf,
  collectionPath,
  lookupResource,
  objectPath,
  resourceForKind,
  resourcesInCategory,
} from '../../src/k8s/resources.js';

// What `kubectl api-resources` prints for these kinds on a real cluster with Cilium installed.
const EXPECTED: [string, string, string, boolean, string[], string[]][] = [
  // plural, apiVersion, kind, namespaced, shortNames, categories
  ['namespaces', 'v1', 'Namespace', false, ['ns'], []],
  ['nodes', 'v1', 'Node', false, ['no'], []],
  ['pods', 'v1', 'Pod', true, ['po'], ['all']],
  ['services', 'v1', 'Service', true, ['svc'], ['all']],
  ['configmaps', 'v1', 'ConfigMap', true, ['cm'], []],
  ['serviceaccounts', 'v1', 'ServiceAccount', true, ['sa'], []],
  ['events', 'v1', 'Event', true, ['ev'], []],
  ['endpoints', 'v1', 'Endpoints', true, ['ep'], []],
  ['endpointslices', 'discovery.k8s.io/v1', 'EndpointSlice', true, [], []],
  ['deployments', 'apps/v1', 'Deployment', true, ['deploy'], ['all']],
  ['replicasets', 'apps/v1', 'ReplicaSet', true, ['rs'], ['all']],
  ['daemonsets', 'apps/v1', 'DaemonSet', true, ['ds'], ['all']],
  ['networkpolicies', 'networking.k8s.io/v1', 'NetworkPolicy', true, ['netpol'], []],
  ['ciliumnetworkpolicies', 'cilium.io/v2', 'CiliumNetworkPolicy', true, ['cnp', 'ciliumnp'], ['cilium', 'ciliumpolicy']],
  ['ciliumclusterwidenetworkpolicies', 'cilium.io/v2', 'CiliumClusterwideNetworkPolicy', false, ['ccnp'], ['cilium', 'ciliumpolicy']],
  ['ciliumendpoints', 'cilium.io/v2', 'CiliumEndpoint', true, ['cep', 'ciliumep'], ['cilium']],
  ['ciliumidentities', 'cilium.io/v2', 'CiliumIdentity', false, ['ciliumid'], ['cilium']],
  ['ciliumnodes', 'cilium.io/v2', 'CiliumNode', false, ['cn', 'ciliumn'], ['cilium']],
];

test('every served kind is described as Kubernetes and Cilium describe it', () => {
  assert.equal(RESOURCES.length, EXPECTED.length);
  for (const [plural, apiVersion, kind, namespaced, shortNames, categories] of EXPECTED) {
    const r = resourceForKind(apiVersion, kind);
    assert.ok(r, `${kind} is served`);
    assert.equal(r.plural, plural);
    assert.equal(r.singular, kind.toLowerCase());
    assert.equal(apiVersionOf(r), apiVersion);
    assert.equal(r.namespaced, namespaced, `${kind} namespaced`);
    assert.deepEqual([...r.shortNames], shortNames, `${kind} short names`);
    assert.deepEqual([...r.categories], categories, `${kind} categories`);
    assert.equal(r.listKind, `${kind}List`);
    for (const verb of ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']) assert.ok(r.verbs.includes(verb), `${kind} ${verb}`);
  }
});

test('lookup accepts plural, singular, kind, short names, any case and group-qualified forms', () => {
  const deploy = resourceForKind('apps/v1', 'Deployment');
  for (const text of ['deployments', 'deployment', 'Deployment', 'DEPLOY', 'deploy', 'deployments.apps', 'deploy.apps', 'Deployment.apps', 'deployments.v1.apps']) {
    assert.equal(lookupResource(text), deploy, text);
  }
  const cnp = resourceForKind('cilium.io/v2', 'CiliumNetworkPolicy');
  for (const text of ['cnp', 'ciliumnp', 'ciliumnetworkpolicies', 'CiliumNetworkPolicy', 'cnp.cilium.io', 'ciliumnetworkpolicies.v2.cilium.io']) {
    assert.equal(lookupResource(text), cnp, text);
  }
  assert.equal(lookupResource('po')?.kind, 'Pod');
  assert.equal(lookupResource('svc')?.kind, 'Service');
  assert.equal(lookupResource('cn')?.kind, 'CiliumNode');
  assert.equal(lookupResource('ciliumid')?.kind, 'CiliumIdentity');
  assert.equal(lookupResource('pods.apps'), undefined, 'pods are not in the apps group');
  assert.equal(lookupResource('frobnicators'), undefined);
  assert.equal(lookupResource(''), undefined);
});

test('categories and URLs', () => {
  assert.deepEqual(
    resourcesInCategory('all').map((r) => r.plural),
    ['pods', 'services', 'deployments', 'replicasets', 'daemonsets'],
  );
  assert.equal(resourcesInCategory('ciliumpolicy').length, 2);
  const pods = lookupResource('pods')!;
  assert.equal(collectionPath(pods), '/api/v1/pods');
  assert.equal(collectionPath(pods, 'kube-system'), '/api/v1/namespaces/kube-system/pods');
  assert.equal(objectPath(pods, 'web', 'default', 'status'), '/api/v1/namespaces/default/pods/web/status');
  const ccnp = lookupResource('ccnp')!;
  assert.equal(objectPath(ccnp, 'deny', 'ignored'), '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/deny');
});
