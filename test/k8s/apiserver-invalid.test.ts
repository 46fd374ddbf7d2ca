// Malformed requests: each is answered with the apiserver's Status (code,
// reason, message, field) and leaves the store byte-for-byte unchanged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Status } from '../../src/k8s/status.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { deployment, pod, service, startApiServer } from './harness.js';

interface Case {
  title: string;
  method?: string;
  path?: string;
  /** An object is sent as JSON; a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
  code: number;
  reason: string;
  message: string | RegExp;
  /** Fields of the Status causes, in order (422 only). */
  fields?: string[];
}

const PODS = '/api/v1/namespaces/default/pods';
const SERVICES = '/api/v1/namespaces/default/services';
const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';
const CNPS = '/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies';

const SUBDOMAIN_HELP =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_HELP =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const IP_HELP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

function withSpec(base: KubeObject, spec: Record<string, unknown>): KubeObject {
  return { ...base, spec: { ...(base['spec'] as Record<string, unknown>), ...spec } };
}

function withMeta(base: KubeObject, meta: Record<string, unknown>): KubeObject {
  return { ...base, metadata: { ...base.metadata, ...meta } };
}

function podContainer(extra: Record<string, unknown>): KubeObject {
  return withSpec(pod('p'), { containers: [{ name: 'app', image: 'nginx', ...extra }] });
}

const CASES: Case[] = [
  // ---- unknown fields, at several depths (400, strict decoding) ----
  {
    title: 'unknown top-level field',
    body: { ...pod('p'), spce: {} },
    code: 400,
    reason: 'BadRequest',
    message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spce"',
  },
  {
    title: 'unknown field in spec',
    body: withSpec(pod('p'), { restartPolcy: 'Never' }),
    code: 400,
    reason: 'BadRequest',
    message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.restartPolcy"',
  },
  {
    title: 'unknown field in a container',
    body: podContainer({ imagePullPolcy: 'Always' }),
    code: 400,
    reason: 'BadRequest',
    message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolcy"',
  },
  {
    title: 'unknown field in a container port',
    body: podContainer({ ports: [{ containerPort: 80, hostPorts: 80 }] }),
    code: 400,
    reason: 'BadRequest',
    message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].ports[0].hostPorts"',
  },
  {
    title: 'unknown field in metadata',
    body: withMeta(pod('p'), { labelz: { a: 'b' } }),
    code: 400,
    reason: 'BadRequest',
    message: 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "metadata.labelz"',
  },
  {
    title: 'several unknown fields, listed in document order',
    body: { ...pod('p'), spec: { foo: 1, containers: [{ name: 'a', image: 'b', bar: 2 }] }, baz: 3 },
    code: 400,
    reason: 'BadRequest',
    message:
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo", unknown field "spec.containers[0].bar", unknown field "baz"',
  },
  {
    title: 'unknown field deep in a Deployment pod template',
    path: DEPLOYMENTS,
    body: withSpec(deployment('d'), {
      template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'i', readinessProbe: { httpGet: { port: 80, paht: '/' } } }] } },
    }),
    code: 400,
    reason: 'BadRequest',
    message:
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].readinessProbe.httpGet.paht"',
  },
  {
    title: 'unknown top-level field on a Cilium policy',
    path: CNPS,
    body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'x' }, spec: {}, ingress: [] },
    code: 400,
    reason: 'BadRequest',
    message: 'CiliumNetworkPolicy in version "v2" cannot be handled as a CiliumNetworkPolicy: strict decoding error: unknown field "ingress"',
  },
  {
    title: 'NetworkPolicy rules outside spec',
    path: '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies',
    body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'x' }, podSelector: {} },
    code: 400,
    reason: 'BadRequest',
    message: 'NetworkPolicy in version "v1" cannot be handled as a NetworkPolicy: strict decoding error: unknown field "podSelector"',
  },
  // ---- wrong JSON types (400) ----
  {
    title: 'containers given as a string',
    body: withSpec(pod('p'), { containers: 'nginx' }),
    code: 400,
    reason: 'BadRequest',
    message: 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec.containers of type array',
  },
  {
    title: 'containerPort given as a string',
    body: podContainer({ ports: [{ containerPort: '80' }] }),
    code: 400,
    reason: 'BadRequest',
    message:
      'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec.containers[0].ports[0].containerPort of type integer',
  },
  {
    title: 'containerPort with a fraction',
    body: podContainer({ ports: [{ containerPort: 80.5 }] }),
    code: 400,
    reason: 'BadRequest',
    message:
      'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number 80.5 into Go struct field Pod.spec.containers[0].ports[0].containerPort of type integer',
  },
  {
    title: 'label value given as a number',
    body: withMeta(pod('p'), { labels: { version: 2 } }),
    code: 400,
    reason: 'BadRequest',
    message: 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number 2 into Go struct field Pod.metadata.labels.version of type string',
  },
  {
    title: 'replicas given as a string',
    path: DEPLOYMENTS,
    body: withSpec(deployment('d'), { replicas: '3' }),
    code: 400,
    reason: 'BadRequest',
    message: 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field Deployment.spec.replicas of type integer',
  },
  {
    title: 'a quantity that is not one',
    body: podContainer({ resources: { limits: { cpu: 'lots' } } }),
    code: 400,
    reason: 'BadRequest',
    message:
      "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
  },
  // ---- names and labels (422) ----
  {
    title: 'a name that is not a DNS subdomain',
    body: pod('Foo_Bar'),
    code: 422,
    reason: 'Invalid',
    message: `Pod "Foo_Bar" is invalid: metadata.name: Invalid value: "Foo_Bar": ${SUBDOMAIN_HELP}`,
    fields: ['metadata.name'],
  },
  {
    title: 'a name longer than 253 characters',
    body: pod('a'.repeat(254)),
    code: 422,
    reason: 'Invalid',
    message: /metadata\.name: Invalid value: "a{254}": must be no more than 253 characters$/,
    fields: ['metadata.name'],
  },
  {
    title: 'no name and no generateName',
    body: withMeta(pod('p'), { name: undefined }),
    code: 422,
    reason: 'Invalid',
    message: 'Pod "" is invalid: metadata.name: Required value: name or generateName is required',
    fields: ['metadata.name'],
  },
  {
    title: 'a label value with spaces',
    body: withMeta(pod('p'), { labels: { app: 'bad value!' } }),
    code: 422,
    reason: 'Invalid',
    message: `Pod "p" is invalid: metadata.labels: Invalid value: "bad value!": ${LABEL_VALUE_HELP}`,
    fields: ['metadata.labels'],
  },
  {
    title: 'a label key starting with a dash',
    body: withMeta(pod('p'), { labels: { '-app': 'web' } }),
    code: 422,
    reason: 'Invalid',
    message: /^Pod "p" is invalid: metadata\.labels: Invalid value: "-app": name part must consist of alphanumeric characters/,
    fields: ['metadata.labels'],
  },
  {
    title: 'a namespace name that is not a DNS label',
    path: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team.a' } },
    code: 422,
    reason: 'Invalid',
    message: /^Namespace "team\.a" is invalid: metadata\.name: Invalid value: "team\.a": a lowercase RFC 1123 label must consist of/,
    fields: ['metadata.name'],
  },
  // ---- pod spec (422) ----
  {
    title: 'no containers',
    body: withSpec(pod('p'), { containers: [] }),
    code: 422,
    reason: 'Invalid',
    message: 'Pod "p" is invalid: spec.containers: Required value',
    fields: ['spec.containers'],
  },
  {
    title: 'a container without an image',
    body: withSpec(pod('p'), { containers: [{ name: 'app' }] }),
    code: 422,
    reason: 'Invalid',
    message: 'Pod "p" is invalid: spec.containers[0].image: Required value',
    fields: ['spec.containers[0].image'],
  },
  {
    title: 'two containers with one name',
    body: withSpec(pod('p'), { containers: [{ name: 'app', image: 'a' }, { name: 'app', image: 'b' }] }),
    code: 422,
    reason: 'Invalid',
    message: 'Pod "p" is invalid: spec.containers[1].name: Duplicate value: "app"',
    fields: ['spec.containers[1].name'],
  },
  {
    title: 'a container port out of range and an unsupported protocol',
    body: podContainer({ ports: [{ containerPort: 70000, protocol: 'ICMP' }] }),
    code: 422,
    reason: 'Invalid',
    message:
      'Pod "p" is invalid: [spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"]',
    fields: ['spec.containers[0].ports[0].containerPort', 'spec.containers[0].ports[0].protocol'],
  },
  {
    title: 'an unsupported restart policy',
    body: withSpec(pod('p'), { restartPolicy: 'Sometimes' }),
    code: 422,
    reason: 'Invalid',
    message: 'Pod "p" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"',
    fields: ['spec.restartPolicy'],
  },
  {
    title: 'a probe on a port name that is not one',
    body: podContainer({ readinessProbe: { tcpSocket: { port: 'HTTP_PORT' } } }),
    code: 422,
    reason: 'Invalid',
    message:
      'Pod "p" is invalid: [spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: "HTTP_PORT": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: "HTTP_PORT": must contain at least one letter (a-z)]',
    fields: ['spec.containers[0].readinessProbe.tcpSocket.port', 'spec.containers[0].readinessProbe.tcpSocket.port'],
  },
  // ---- services (422) ----
  {
    title: 'a service port out of range',
    path: SERVICES,
    body: withSpec(service('s'), { ports: [{ port: 70000, targetPort: 80 }] }),
    code: 422,
    reason: 'Invalid',
    message: 'Service "s" is invalid: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    fields: ['spec.ports[0].port'],
  },
  {
    title: 'a service protocol that does not exist',
    path: SERVICES,
    body: withSpec(service('s'), { ports: [{ port: 80, protocol: 'ICMP' }] }),
    code: 422,
    reason: 'Invalid',
    message: 'Service "s" is invalid: spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    fields: ['spec.ports[0].protocol'],
  },
  {
    title: 'a cluster IP that is not an IP',
    path: SERVICES,
    body: withSpec(service('s'), { clusterIP: '10.96.0.300' }),
    code: 422,
    reason: 'Invalid',
    message: `Service "s" is invalid: spec.clusterIP: Invalid value: "10.96.0.300": ${IP_HELP}`,
    fields: ['spec.clusterIP'],
  },
  {
    title: 'an external IP that is not an IP',
    path: SERVICES,
    body: withSpec(service('s'), { externalIPs: ['1.2.3'] }),
    code: 422,
    reason: 'Invalid',
    message: `Service "s" is invalid: spec.externalIPs[0]: Invalid value: "1.2.3": ${IP_HELP}`,
    fields: ['spec.externalIPs[0]'],
  },
  {
    title: 'two unnamed service ports, one of them duplicated',
    path: SERVICES,
    body: withSpec(service('s'), { ports: [{ port: 80 }, { port: 80 }] }),
    code: 422,
    reason: 'Invalid',
    message:
      'Service "s" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value, spec.ports[1]: Duplicate value: {"port":80,"protocol":"TCP"}]',
    fields: ['spec.ports[0].name', 'spec.ports[1].name', 'spec.ports[1]'],
  },
  {
    title: 'an unsupported service type',
    path: SERVICES,
    body: withSpec(service('s'), { type: 'Magic' }),
    code: 422,
    reason: 'Invalid',
    message: 'Service "s" is invalid: spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    fields: ['spec.type'],
  },
  {
    title: 'several problems at once are listed in brackets',
    path: SERVICES,
    body: withSpec(withMeta(service('s'), { name: 'Web_Svc' }), { ports: [{ port: 0, name: 'http' }] }),
    code: 422,
    reason: 'Invalid',
    message: /^Service "Web_Svc" is invalid: \[metadata\.name: Invalid value: "Web_Svc": a DNS-1035 label .*, spec\.ports\[0\]\.port: Invalid value: 0: must be between 1 and 65535, inclusive\]$/,
    fields: ['metadata.name', 'spec.ports[0].port'],
  },
  // ---- workloads (422) ----
  {
    title: 'a Deployment whose selector does not match its template',
    path: DEPLOYMENTS,
    body: withSpec(deployment('d'), { selector: { matchLabels: { app: 'other' } } }),
    code: 422,
    reason: 'Invalid',
    message:
      'Deployment.apps "d" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"d"}: `selector` does not match template `labels`',
    fields: ['spec.template.metadata.labels'],
  },
  {
    title: 'a Deployment without a selector and with negative replicas',
    path: DEPLOYMENTS,
    body: withSpec(deployment('d'), { selector: undefined, replicas: -1 }),
    code: 422,
    reason: 'Invalid',
    message: 'Deployment.apps "d" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.selector: Required value]',
    fields: ['spec.replicas', 'spec.selector'],
  },
  {
    title: 'a Deployment template that does not restart',
    path: DEPLOYMENTS,
    body: withSpec(deployment('d'), {
      template: { metadata: { labels: { app: 'd' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } },
    }),
    code: 422,
    reason: 'Invalid',
    message: 'Deployment.apps "d" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    fields: ['spec.template.spec.restartPolicy'],
  },
  // ---- other kinds (422) ----
  {
    title: 'a ConfigMap key with a slash',
    path: '/api/v1/namespaces/default/configmaps',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'a/b': 'x' } },
    code: 422,
    reason: 'Invalid',
    message: /^ConfigMap "c" is invalid: data\[a\/b\]: Invalid value: "a\/b": a valid config key must consist of alphanumeric characters/,
    fields: ['data[a/b]'],
  },
  {
    title: 'an EndpointSlice with an IPv6 address in an IPv4 slice',
    path: '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
    body: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] },
    code: 422,
    reason: 'Invalid',
    message: 'EndpointSlice.discovery.k8s.io "e" is invalid: endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address',
    fields: ['endpoints[0].addresses[0]'],
  },
  {
    title: 'a Node with a pod CIDR that is not one',
    path: '/api/v1/nodes',
    body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { podCIDR: '10.0.1.0/33' } },
    code: 422,
    reason: 'Invalid',
    message: 'Node "n" is invalid: spec.podCIDR: Invalid value: "10.0.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    fields: ['spec.podCIDR'],
  },
  {
    title: 'a Cilium policy with neither spec nor specs',
    path: CNPS,
    body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'empty' } },
    code: 422,
    reason: 'Invalid',
    message: 'CiliumNetworkPolicy.cilium.io "empty" is invalid: spec: Required value: one of `spec` or `specs` must be set',
    fields: ['spec'],
  },
  {
    title: 'a CiliumIdentity without security labels',
    path: '/apis/cilium.io/v2/ciliumidentities',
    body: { apiVersion: 'cilium.io/v2', kind: 'CiliumIdentity', metadata: { name: '1234' } },
    code: 422,
    reason: 'Invalid',
    message: 'CiliumIdentity.cilium.io "1234" is invalid: security-labels: Required value',
    fields: ['security-labels'],
  },
  // ---- request-level problems ----
  {
    title: 'create of a name that exists',
    body: pod('taken'),
    code: 409,
    reason: 'AlreadyExists',
    message: 'pods "taken" already exists',
  },
  {
    title: 'create in a namespace that does not exist',
    path: '/api/v1/namespaces/nowhere/pods',
    body: pod('p'),
    code: 404,
    reason: 'NotFound',
    message: 'namespaces "nowhere" not found',
  },
  {
    title: 'a Deployment posted to the pods collection',
    body: deployment('d'),
    code: 400,
    reason: 'BadRequest',
    message: 'the API version in the data (apps/v1) does not match the expected API version (v1)',
  },
  {
    title: 'a Service posted to the pods collection',
    body: service('s'),
    code: 400,
    reason: 'BadRequest',
    message: 'Service in version "v1" cannot be handled as a Pod: the kind in the data does not match the resource pods',
  },
  {
    title: 'a Pod claiming apps/v1',
    body: { ...pod('p'), apiVersion: 'apps/v1' },
    code: 400,
    reason: 'BadRequest',
    message: 'the API version in the data (apps/v1) does not match the expected API version (v1)',
  },
  {
    title: 'a body namespace that contradicts the URL',
    body: withMeta(pod('p'), { namespace: 'kube-system' }),
    code: 400,
    reason: 'BadRequest',
    message: 'the namespace of the provided object does not match the namespace sent on the request',
  },
  {
    title: 'a resourceVersion on create',
    body: withMeta(pod('p'), { resourceVersion: '5' }),
    code: 400,
    reason: 'BadRequest',
    message: 'resourceVersion should not be set on objects to be created',
  },
  {
    title: 'a body that is not JSON',
    body: '{"apiVersion": "v1", "kind": ',
    code: 400,
    reason: 'BadRequest',
    message: /^couldn't get version\/kind; json parse error: /,
  },
  {
    title: 'a body that is a JSON array',
    body: '[]',
    code: 400,
    reason: 'BadRequest',
    message: "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct",
  },
  {
    title: 'an update whose name differs from the URL',
    method: 'PUT',
    path: `${PODS}/taken`,
    body: pod('other'),
    code: 400,
    reason: 'BadRequest',
    message: 'the name of the object (other) does not match the name on the URL (taken)',
  },
  {
    title: 'an update that changes an immutable Deployment selector',
    method: 'PUT',
    path: `${DEPLOYMENTS}/existing`,
    body: deployment('existing', { app: 'changed' }),
    code: 422,
    reason: 'Invalid',
    message: 'Deployment.apps "existing" is invalid: spec.selector: Invalid value: {"matchLabels":{"app":"changed"}}: field is immutable',
    fields: ['spec.selector'],
  },
  {
    title: 'an update of an object that does not exist',
    method: 'PUT',
    path: `${PODS}/ghost`,
    body: pod('ghost'),
    code: 404,
    reason: 'NotFound',
    message: 'pods "ghost" not found',
  },
  {
    title: 'a label selector that does not parse',
    method: 'GET',
    path: `${PODS}?labelSelector=${encodeURIComponent('app in (web')}`,
    code: 400,
    reason: 'BadRequest',
    message: "unable to parse requirement: found '', expected: ',' or ')'",
  },
  {
    title: 'a field selector on an unsupported field',
    method: 'GET',
    path: `${PODS}?fieldSelector=${encodeURIComponent('spec.image=nginx')}`,
    code: 400,
    reason: 'BadRequest',
    message: 'field label not supported: spec.image',
  },
  {
    title: 'a resource that is not served',
    method: 'GET',
    path: '/api/v1/namespaces/default/frobnicators',
    code: 404,
    reason: 'NotFound',
    message: 'the server could not find the requested resource',
  },
  {
    title: 'POST to an object URL',
    path: `${PODS}/taken`,
    body: pod('taken'),
    code: 405,
    reason: 'MethodNotAllowed',
    message: 'the server does not allow this method on the requested resource',
  },
  {
    title: 'an unsupported propagation policy',
    method: 'DELETE',
    path: `${PODS}/taken`,
    body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' },
    code: 422,
    reason: 'Invalid',
    message: 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Background", "Foreground", "Orphan"',
    fields: ['propagationPolicy'],
  },
  {
    title: 'an unknown fieldValidation mode',
    path: `${PODS}?fieldValidation=Lenient`,
    body: pod('p'),
    code: 400,
    reason: 'BadRequest',
    message: 'fieldValidation: Unsupported value: "Lenient": supported values: "Ignore", "Strict", "Warn"',
  },
  {
    title: 'a body over the size limit',
    body: JSON.stringify({ ...pod('big'), metadata: { name: 'big', annotations: { a: 'x'.repeat(3 * 1024 * 1024) } } }),
    code: 413,
    reason: 'RequestEntityTooLarge',
    message: 'Request entity too large: limit is 3145728',
  },
];

test(`${CASES.length} malformed requests get the apiserver's answer and change nothing`, async () => {
  assert.ok(CASES.length >= 30);
  const h = await startApiServer();
  try {
    const seeded = await h.client.create(pod('taken'));
    assert.ok(seeded.ok);
    assert.ok((await h.client.create(deployment('existing'))).ok);
    for (const c of CASES) {
      const before = h.store.dump();
      const rvBefore = h.store.resourceVersion;
      const body = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      const r = await h.http(c.method ?? 'POST', c.path ?? PODS, body, c.headers ?? {});
      const status = r.json as Status;
      assert.equal(r.code, c.code, `${c.title}: HTTP code (${r.text.slice(0, 300)})`);
      assert.equal(status.kind, 'Status', c.title);
      assert.equal(status.status, 'Failure', c.title);
      assert.equal(status.code, c.code, `${c.title}: Status code`);
      assert.equal(status.reason, c.reason, `${c.title}: reason`);
      if (typeof c.message === 'string') assert.equal(status.message, c.message, c.title);
      else assert.match(status.message ?? '', c.message, c.title);
      if (c.fields) {
        assert.deepEqual(
          status.details?.causes?.map((x) => x.field),
          c.fields,
          `${c.title}: cause fields`,
        );
      }
      assert.equal(h.store.dump(), before, `${c.title}: store unchanged`);
      assert.equal(h.store.resourceVersion, rvBefore, `${c.title}: resourceVersion unchanged`);
    }
  } finally {
    await h.close();
  }
});

test('Invalid statuses carry causes with reason, message and field', async () => {
  const h = await startApiServer();
  try {
    const r = await h.http('POST', SERVICES, JSON.stringify(withSpec(service('s'), { ports: [{ port: 70000, name: 'http' }] })));
    assert.deepEqual(r.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Service "s" is invalid: [spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive]',
      reason: 'Invalid',
      details: {
        name: 's',
        group: '',
        kind: 'Service',
        causes: [
          { reason: 'FieldValueInvalid', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive', field: 'spec.ports[0].port' },
          { reason: 'FieldValueInvalid', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive', field: 'spec.ports[0].targetPort' },
        ],
      },
      code: 422,
    });
  } finally {
    await h.close();
  }
});

test('fieldValidation=Warn drops unknown fields and says so in Warning headers', async () => {
  const h = await startApiServer();
  try {
    const r = await h.http('POST', `${PODS}?fieldValidation=Warn`, JSON.stringify(withSpec(pod('w'), { foo: 1 })));
    assert.equal(r.code, 201);
    assert.equal(r.headers['warning'], '299 - "unknown field \\"spec.foo\\""');
    assert.equal((r.json as { spec: Record<string, unknown> }).spec['foo'], undefined);
    const ignored = await h.client.create(withSpec(pod('i'), { bar: 1 }), { fieldValidation: 'Ignore' });
    assert.ok(ignored.ok && ignored.warnings === undefined);
  } finally {
    await h.close();
  }
});
