// Invalid policies are rejected at apply, with the field path and the reason,
// as kubectl prints the apiserver's 422; the store (and the engine) is unchanged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import type { KubeObject } from '../../src/k8s/types.js';
import { validatePolicy } from '../../src/policy/index.js';
import { CCNP, CNP, KNP, ccnp, cnp, knp, policyCluster } from './harness.js';

const sel = { matchLabels: { app: 'server' } };
const ports = (p: Record<string, unknown>) => [{ ports: [p] }];

/** [policy, the error line kubectl shows after `is invalid: `] */
const CASES: [KubeObject, string][] = [
  [cnp('mixed-peers', { endpointSelector: sel, ingress: [{ fromEndpoints: [{}], fromEntities: ['world'] }] }), 'spec.ingress[0]: Forbidden: Combining FromEndpoints and FromEntities is not supported yet'],
  [cnp('mixed-egress', { endpointSelector: sel, egress: [{ toCIDR: ['10.0.0.0/8'], toFQDNs: [{ matchName: 'cilium.io' }] }] }), 'spec.egress[0]: Forbidden: Combining ToCIDR and ToFQDNs is not supported yet'],
  [cnp('bad-cidr', { endpointSelector: sel, egress: [{ toCIDR: ['10.0.0.0/33'] }] }), 'spec.egress[0].toCIDR[0]: Invalid value: "10.0.0.0/33": unable to parse CIDR: must be an IP address or a CIDR prefix (e.g. 10.0.0.0/8)'],
  [
    cnp('bad-except', { endpointSelector: sel, egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] }] }),
    'spec.egress[0].toCIDRSet[0].except[0]: Invalid value: "192.168.0.0/16": allow CIDR prefix 10.0.0.0/8 does not contain exclude CIDR prefix 192.168.0.0/16',
  ],
  [cnp('port-range', { endpointSelector: sel, ingress: [{ toPorts: ports({ port: '99999', protocol: 'TCP' }) }] }), 'spec.ingress[0].toPorts[0].ports[0].port: Invalid value: "99999": Unable to parse port: strconv.ParseUint: parsing "99999": value out of range'],
  [cnp('port-missing', { endpointSelector: sel, ingress: [{ toPorts: ports({ protocol: 'TCP' }) }] }), 'spec.ingress[0].toPorts[0].ports[0].port: Required value: Port must be specified'],
  [cnp('port-type', { endpointSelector: sel, ingress: [{ toPorts: ports({ port: 80 }) }] }), 'spec.ingress[0].toPorts[0].ports[0].port: Invalid value: "integer": spec.ingress[0].toPorts[0].ports[0].port in body must be of type string: "integer"'],
  [cnp('bad-proto', { endpointSelector: sel, ingress: [{ toPorts: ports({ port: '80', protocol: 'HTTP' }) }] }), 'spec.ingress[0].toPorts[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "ANY", "SCTP", "TCP", "UDP"'],
  [cnp('bad-entity', { endpointSelector: sel, ingress: [{ fromEntities: ['wrld'] }] }), 'spec.ingress[0].fromEntities[0]: Unsupported value: "wrld": supported values: "all", "cluster", "health", "host", "ingress", "init", "kube-apiserver", "none", "remote-node", "unmanaged", "world"'],
  [
    cnp('bad-path', { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/v1/(a' }] } }] }] }),
    'spec.ingress[0].toPorts[0].rules.http[0].path: Invalid value: "/v1/(a": error parsing regexp: missing closing ): `/v1/(a`',
  ],
  [
    cnp('bad-method', { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: '(?<=P)OST' }] } }] }] }),
    'spec.ingress[0].toPorts[0].rules.http[0].method: Invalid value: "(?<=P)OST": error parsing regexp: invalid named capture: `(?<=P)OST`',
  ],
  [
    cnp('l7-udp', { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{}] } }] }] }),
    'spec.ingress[0].toPorts[0].ports[0].protocol: Invalid value: "UDP": L7 rules can only apply to TCP (not UDP) except for DNS rules',
  ],
  [cnp('l7-port0', { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }], rules: { http: [{}] } }] }] }), 'spec.ingress[0].toPorts[0].rules: Invalid value: "port 0": L7 rules can not be used when a port is 0'],
  [cnp('dns-ingress', { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }] }] }), 'spec.ingress[0].toPorts[0].rules.dns: Forbidden: DNS rules are not allowed on ingress'],
  [
    cnp('two-l7', { endpointSelector: sel, egress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchName: 'a.b' }], http: [{}] } }] }] }),
    'spec.egress[0].toPorts[0].rules: Forbidden: multiple L7 protocol rule types specified in single rule',
  ],
  [cnp('icmp-and-ports', { endpointSelector: sel, ingress: [{ icmps: [{ fields: [{ type: 8 }] }], toPorts: ports({ port: '80' }) }] }), 'spec.ingress[0]: Forbidden: The ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts.'],
  [cnp('services-and-ports', { endpointSelector: sel, egress: [{ toServices: [{ k8sService: { serviceName: 'db', namespace: 'default' } }], toPorts: ports({ port: '80' }) }] }), 'spec.egress[0]: Forbidden: Combining ToServices and ToPorts is not supported yet'],
  [cnp('no-selector', { ingress: [{}] }), 'spec.endpointSelector: Required value: rule must have one of EndpointSelector or NodeSelector'],
  [cnp('node-selector', { nodeSelector: {}, ingress: [{}] }), 'spec.nodeSelector: Forbidden: nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy'],
  [ccnp('both-selectors', { endpointSelector: {}, nodeSelector: {} }), 'spec.nodeSelector: Forbidden: rule cannot have both EndpointSelector and NodeSelector'],
  [cnp('bad-operator', { endpointSelector: { matchExpressions: [{ key: 'app', operator: 'Has' }] } }), 'spec.endpointSelector.matchExpressions[0].operator: Unsupported value: "Has": supported values: "DoesNotExist", "Exists", "In", "NotIn"'],
  [cnp('typo', { endpointSelector: sel, ingress: [{ fromEndpoint: [{}] }] }), 'spec.ingress[0].fromEndpoint: Forbidden: unknown field'],
  [cnp('deny-l7', { endpointSelector: sel, ingressDeny: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] }), 'spec.ingressDeny[0].toPorts[0].rules: Forbidden: unknown field'],
  [cnp('deny-fqdn', { endpointSelector: sel, egressDeny: [{ toFQDNs: [{ matchName: 'x.io' }] }] }), 'spec.egressDeny[0].toFQDNs: Forbidden: unknown field'],
  [cnp('fqdn-chars', { endpointSelector: sel, egress: [{ toFQDNs: [{ matchName: 'bad name!' }] }] }), 'spec.egress[0].toFQDNs[0].matchName: Invalid value: "bad name!": Invalid characters in MatchName: "bad name!". Only 0-9, a-z, A-Z and . and - characters are allowed'],
  [cnp('from-nodes', { endpointSelector: sel, ingress: [{ fromNodes: [{}] }] }), 'spec.ingress[0].fromNodes: Forbidden: FromNodes/ToNodes rules can only be applied when the "enable-node-selector-labels" flag is set'],
  [
    cnp('header-match', { endpointSelector: sel, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ headerMatches: [{ name: 'X-Token', mismatch: 'DROP' }] }] } }] }] }),
    'spec.ingress[0].toPorts[0].rules.http[0].headerMatches[0].mismatch: Unsupported value: "DROP": supported values: "ADD", "DELETE", "LOG", "REPLACE"',
  ],
  [{ ...cnp('specs-path', {}), spec: undefined, specs: [{ endpointSelector: sel }, { endpointSelector: sel, egress: [{ toEntities: ['everything'] }] }] } as KubeObject, 'specs[1].egress[0].toEntities[0]: Unsupported value: "everything": supported values: "all", "cluster", "health", "host", "ingress", "init", "kube-apiserver", "none", "remote-node", "unmanaged", "world"'],
  [knp('knp-proto', { podSelector: {}, ingress: [{ ports: [{ port: 80, protocol: 'ICMP' }] }] }), 'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
  [knp('knp-port', { podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] }), 'spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive'],
  [knp('knp-endport', { podSelector: {}, egress: [{ ports: [{ port: 8080, endPort: 80 }] }] }), 'spec.egress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`'],
  [knp('knp-peer', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }), 'spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer'],
  [knp('knp-empty-peer', { podSelector: {}, ingress: [{ from: [{}] }] }), 'spec.ingress[0].from[0]: Required value: must specify a peer'],
  [knp('knp-except', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] }), 'spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`'],
  [knp('knp-types', { podSelector: {}, policyTypes: ['Inbound'] }), 'spec.policyTypes[0]: Unsupported value: "Inbound": supported values: "Egress", "Ingress"'],
];

test(`${CASES.length} invalid policies are rejected at apply with the field path and reason; nothing is stored`, async () => {
  const c = await policyCluster({ workers: 1 });
  try {
    const before = { cnp: c.rt.cache.count(CNP), ccnp: c.rt.cache.count(CCNP), knp: c.rt.cache.count(KNP), revision: c.engine.revision };
    const got: string[] = [];
    const want: string[] = [];
    for (const [obj, line] of CASES) {
      let message = 'accepted';
      try {
        c.apply(obj);
      } catch (e) {
        message = (e as Error).message;
      }
      got.push(message);
      want.push(`${obj.kind}.${obj.kind === 'NetworkPolicy' ? 'networking.k8s.io' : 'cilium.io'} "${obj.metadata.name}" is invalid: ${line}`);
    }
    assert.deepEqual(got, want);
    assert.deepEqual({ cnp: c.rt.cache.count(CNP), ccnp: c.rt.cache.count(CCNP), knp: c.rt.cache.count(KNP), revision: c.engine.revision }, before, 'store and repository unchanged');

    // A rejected update leaves the stored policy and its enforcement as they were.
    const good = cnp('good', { endpointSelector: sel, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: ports({ port: '80', protocol: 'TCP' }) }] });
    c.apply(good);
    const rev = c.engine.revision;
    const stored = JSON.stringify(c.rt.cache.get(CNP, 'default', 'good')!['spec']);
    assert.throws(() => c.apply(cnp('good', { endpointSelector: sel, ingress: [{ toPorts: ports({ port: 'http-alt-too-long-name' }) }] })), /spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port: Invalid value: "http-alt-too-long-name"/);
    assert.equal(JSON.stringify(c.rt.cache.get(CNP, 'default', 'good')!['spec']), stored);
    assert.equal(c.engine.revision, rev);
  } finally {
    await c.close();
  }
});

test('several problems are reported together, in field order', () => {
  const errs = validatePolicy('CiliumNetworkPolicy', {
    spec: { endpointSelector: sel, ingress: [{ fromEntities: ['wrld'], toPorts: ports({ port: '99999', protocol: 'XTP' }) }] },
  });
  assert.deepEqual(
    errs.map((e) => e.field),
    ['spec.ingress[0].fromEntities[0]', 'spec.ingress[0].toPorts[0].ports[0].protocol', 'spec.ingress[0].toPorts[0].ports[0].port'],
  );
});

test('valid corner cases are accepted: named ports, ranges, ANY, bare IPs in fromCIDR, IPv6 CIDRs, specs, enableDefaultDeny', () => {
  const ok: Record<string, unknown>[] = [
    { spec: { endpointSelector: {}, ingress: [{ toPorts: ports({ port: 'http' }) }] } },
    { spec: { endpointSelector: {}, ingress: [{ toPorts: ports({ port: '8000', endPort: 8100, protocol: 'tcp' }) }] } },
    { spec: { endpointSelector: {}, ingress: [{ fromCIDR: ['192.0.2.1', '2001:db8::/32'] }] } },
    { specs: [{ endpointSelector: {}, enableDefaultDeny: { ingress: false } }, { endpointSelector: { matchLabels: { 'k8s:app': 'x' } }, egress: [{ toEntities: ['kube-apiserver'] }] }] },
    { spec: { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*.cilium.io' }] } }] }, { toFQDNs: [{ matchPattern: '*.cilium.io' }] }] } },
    { spec: { endpointSelector: {}, ingress: [{ icmps: [{ fields: [{ type: 'EchoRequest', family: 'IPv4' }, { type: 128, family: 'IPv6' }] }] }] } },
  ];
  for (const o of ok) assert.deepEqual(validatePolicy('CiliumNetworkPolicy', o), [], JSON.stringify(o));
});

test('a hostile path regex compiles with RE2 and matches a long path in linear time', () => {
  // (a+)+$ backtracks exponentially in JavaScript's RegExp; RE2 does not backtrack.
  assert.deepEqual(validatePolicy('CiliumNetworkPolicy', { spec: { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ path: '/(a+)+$' }] } }] }] } }), []);
  const re = RE2JS.compile('/(a+)+$');
  re.matches('/aa!');
  // A backtracking engine would not finish this in the life of the machine; deciding it at all is the proof (how fast is bench/'s business).
  const path = `/${'a'.repeat(8192)}!`;
  assert.equal(re.matches(path), false);
});
