// Every `hubble observe` filter flag of the reference §2, through the same
// path as the CLI: flags in order → ObserveFilterBuilder → allow/deny lists →
// the server-side matcher, over a small set of hand-made flows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilters, FilterError, ObserveFilterBuilder } from '../../src/hubble/filter.js';
import type { Flow } from '../../src/hubble/flow.js';

let n = 0;
function flow(p: Partial<Flow> & { id: string }): Flow & { id: string } {
  return { time: { seconds: 1_700_000_000 + n++, nanos: 0 }, uuid: `uuid-${p.id}`, verdict: 1, Type: 1, node_name: 'kind-worker', ...p };
}

const fe = { ID: 11, identity: 12345, namespace: 'demo', pod_name: 'frontend-7d9c8b6f4-x2k9p', labels: ['k8s:app=frontend', 'k8s:tier=web', 'k8s:io.kubernetes.pod.namespace=demo'], workloads: [{ name: 'frontend', kind: 'Deployment' }] };
const be = { identity: 23456, namespace: 'demo', pod_name: 'backend-5f6c7d8b9-qwz7l', labels: ['k8s:app=backend', 'k8s:io.kubernetes.pod.namespace=demo'], workloads: [{ name: 'backend', kind: 'Deployment' }] };
const dns = { identity: 2105, namespace: 'kube-system', pod_name: 'coredns-76f75df574-flqbm', labels: ['k8s:k8s-app=kube-dns'], workloads: [{ name: 'coredns', kind: 'Deployment' }] };
const web = { identity: 4, namespace: 'default', pod_name: 'web-0', labels: ['k8s:app=web'], workloads: [{ name: 'web', kind: 'StatefulSet' }] };
const world = { identity: 2, labels: ['reserved:world'] };

const FLOWS = [
  flow({ id: 'syn', IP: { source: '10.244.1.23', destination: '10.244.2.57', ipVersion: 1 }, l4: { TCP: { source_port: 43210, destination_port: 8080, flags: { SYN: true } } }, source: fe, destination: be, event_type: { type: 4 }, traffic_direction: 2, is_reply: false, interface: { index: 14, name: 'lxc1' } }),
  flow({ id: 'synack', IP: { source: '10.244.2.57', destination: '10.244.1.23', ipVersion: 1 }, l4: { TCP: { source_port: 8080, destination_port: 43210, flags: { SYN: true, ACK: true } } }, source: be, destination: fe, event_type: { type: 4, sub_type: 4 }, traffic_direction: 2, is_reply: true, node_name: 'kind-worker2' }),
  flow({ id: 'dnsq', IP: { source: '10.244.1.23', destination: '10.244.3.9', ipVersion: 1 }, l4: { UDP: { source_port: 40000, destination_port: 53 } }, source: fe, destination: dns, event_type: { type: 4, sub_type: 11 }, traffic_direction: 2, is_reply: false, destination_service: { name: 'kube-dns', namespace: 'kube-system' } }),
  flow({ id: 'dnsr', IP: { source: '10.244.3.9', destination: '10.244.1.23', ipVersion: 1 }, l4: { UDP: { source_port: 53, destination_port: 40000 } }, source: dns, destination: fe, event_type: { type: 4 }, traffic_direction: 2, is_reply: true }),
  flow({ id: 'drop', verdict: 2, drop_reason: 133, drop_reason_desc: 133, IP: { source: '10.244.1.23', destination: '10.244.4.4', ipVersion: 1 }, l4: { TCP: { source_port: 51884, destination_port: 5432, flags: { SYN: true } } }, source: fe, destination: web, event_type: { type: 1, sub_type: 133 }, traffic_direction: 1, node_name: 'prod/node-a.example.com' }),
  flow({ id: 'pv', verdict: 2, drop_reason: 181, drop_reason_desc: 181, IP: { source: '10.244.1.23', destination: '10.244.4.4', ipVersion: 1 }, l4: { TCP: { source_port: 51884, destination_port: 5432, flags: { SYN: true } } }, source: fe, destination: web, event_type: { type: 5 }, traffic_direction: 1 }),
  flow({ id: 'world', IP: { source: '10.244.1.23', source_xlated: '172.18.0.3', destination: '185.199.108.133', ipVersion: 1 }, l4: { TCP: { source_port: 55936, destination_port: 443, flags: { ACK: true, FIN: true } } }, source: fe, destination: world, destination_names: ['api.github.com'], event_type: { type: 4, sub_type: 3 }, traffic_direction: 2, is_reply: false, node_labels: ['kubernetes.io/os=linux', 'zone=a'] }),
  flow({ id: 'icmp', IP: { source: '10.244.1.23', destination: '10.244.2.57', ipVersion: 1 }, l4: { ICMPv4: { type: 8 } }, source: fe, destination: be, event_type: { type: 4 }, traffic_direction: 2, is_reply: false }),
  flow({ id: 'httpreq', Type: 2, IP: { source: '10.244.1.23', destination: '10.244.2.57', ipVersion: 1 }, l4: { TCP: { source_port: 43822, destination_port: 8080 } }, source: fe, destination: be, event_type: { type: 129 }, traffic_direction: 1, is_reply: false, l7: { type: 1, http: { method: 'GET', url: 'http://backend.demo:8080/api/items?x=1', protocol: 'HTTP/1.1', headers: [{ key: 'X-Request-Id', value: 'r1' }] } } }),
  flow({ id: 'httpresp', Type: 2, IP: { source: '10.244.2.57', destination: '10.244.1.23', ipVersion: 1 }, l4: { TCP: { source_port: 8080, destination_port: 43822 } }, source: be, destination: fe, event_type: { type: 129 }, traffic_direction: 1, is_reply: true, l7: { type: 2, http: { code: 503, method: 'PUT', url: 'http://backend.demo:8080/v1/exhaust-port', protocol: 'HTTP/1.1' } } }),
  flow({ id: 'sock', Type: 3, verdict: 6, IP: { source: '10.244.1.23', destination: '10.96.0.10', ipVersion: 1 }, l4: { UDP: { destination_port: 53 } }, source: fe, destination: world, event_type: { type: 7, sub_type: 1 }, destination_service: { name: 'kube-dns', namespace: 'kube-system' } }),
];

function build(flags: (string | [string, string])[]): ReturnType<ObserveFilterBuilder['finish']> {
  const b = new ObserveFilterBuilder();
  for (const f of flags) {
    if (typeof f === 'string') b.set(f);
    else b.set(f[0], f[1]);
  }
  return b.finish();
}

function ids(flags: (string | [string, string])[]): string[] {
  const { whitelist, blacklist } = build(flags);
  const match = compileFilters(whitelist, blacklist);
  return FLOWS.filter(match).map((f) => (f as Flow & { id: string }).id);
}

function err(flags: (string | [string, string])[]): string {
  try {
    build(flags);
  } catch (e) {
    assert.ok(e instanceof FilterError, String(e));
    return e.message;
  }
  assert.fail('expected an error');
}

test('--pod / --from-pod / --to-pod: [ns/]prefix, default namespace, either side', () => {
  assert.deepEqual(ids([['pod', 'demo/backend']]), ['syn', 'synack', 'icmp', 'httpreq', 'httpresp']);
  assert.deepEqual(ids([['pod', 'backend']]), [], 'no namespace means default');
  assert.deepEqual(ids([['pod', 'web']]), ['drop', 'pv'], 'default/web-0 by prefix');
  assert.deepEqual(ids([['pod', '/coredns']]), ['dnsq', 'dnsr'], '/name: any namespace');
  assert.deepEqual(ids([['pod', 'kube-system/']]), ['dnsq', 'dnsr'], 'ns/: any pod in ns');
  assert.deepEqual(ids([['from-pod', 'demo/front'], ['to-pod', 'kube-system/coredns']]), ['dnsq']);
  assert.deepEqual(ids([['pod', 'demo/backend'], ['pod', 'kube-system/coredns']]), ['syn', 'synack', 'dnsq', 'dnsr', 'icmp', 'httpreq', 'httpresp'], 'several --pod: either side is any of them');
  assert.deepEqual(build([['pod', 'a']]).whitelist, [{ source_pod: ['a'] }, { destination_pod: ['a'] }]);
  assert.deepEqual(build([['from-pod', 'a'], ['to-pod', 'b']]).whitelist, [{ source_pod: ['a'], destination_pod: ['b'] }]);
  assert.match(err([['pod', '']]), /empty/);
});

test('--namespace / --from-namespace / --to-namespace / -A: applied last to pods and services; non-pod endpoints never match', () => {
  assert.deepEqual(ids([['namespace', 'kube-system']]), ['dnsq', 'dnsr']);
  assert.deepEqual(build([['namespace', 'kube-system']]).whitelist, [{ source_pod: ['kube-system/'] }, { destination_pod: ['kube-system/'] }]);
  assert.deepEqual(ids([['from-namespace', 'demo'], ['to-namespace', 'default']]), ['drop', 'pv']);
  assert.deepEqual(build([['pod', 'coredns'], ['namespace', 'kube-system']]).whitelist, [{ source_pod: ['kube-system/coredns'] }, { destination_pod: ['kube-system/coredns'] }]);
  assert.deepEqual(ids([['pod', 'coredns'], ['all-namespaces', '']]), ['dnsq', 'dnsr'], '-A: any namespace instead of default');
  assert.deepEqual(build([['service', 'kube-dns'], ['namespace', 'kube-system']]).whitelist, [{ source_service: ['kube-system/kube-dns'] }, { destination_service: ['kube-system/kube-dns'] }]);
  assert.match(err([['pod', 'demo/x'], ['namespace', 'other']]), /^namespace conflict: "other" does not contain "demo\/x"$/);
  assert.equal(err([['from-pod', 'x'], ['namespace', 'demo']]), 'filters --from-pod and --namespace cannot be combined');
});

test('--label / --from-label / --to-label: selectors, any source unless given, reserved labels, OR across values', () => {
  assert.deepEqual(ids([['label', 'k8s-app=kube-dns']]), ['dnsq', 'dnsr']);
  assert.deepEqual(ids([['from-label', 'app=frontend,tier=web'], ['to-label', 'k8s:app in (web, backend)']]), ['syn', 'drop', 'pv', 'icmp', 'httpreq']);
  assert.deepEqual(ids([['to-label', 'reserved:world']]), ['world', 'sock']);
  assert.deepEqual(ids([['to-label', 'app!=backend'], ['from-label', 'app=frontend']]), ['dnsq', 'drop', 'pv', 'world', 'sock']);
  assert.deepEqual(ids([['to-label', '!app'], ['from-label', 'app=frontend']]), ['dnsq', 'world', 'sock']);
  assert.deepEqual(ids([['label', 'app=web'], ['label', 'k8s-app=kube-dns']]), ['dnsq', 'dnsr', 'drop', 'pv']);
  assert.deepEqual(ids([['to-label', 'any:app=backend'], ['from-label', 'reserved:app=frontend']]), []);
  assert.equal(err([['label', 'a'], ['from-label', 'b']]), 'filters --label and --from-label cannot be combined');
});

test('--service / --from-service / --to-service match flow.*_service with the ns/prefix rule', () => {
  assert.deepEqual(ids([['to-service', 'kube-system/kube']]), ['dnsq', 'sock']);
  assert.deepEqual(ids([['service', 'kube-dns']]), [], 'default namespace');
  assert.deepEqual(ids([['from-service', 'kube-system/kube-dns']]), []);
});

test('--ip / --from-ip / --to-ip (exact or CIDR), --snat-ip, and the side pairing of --ip X --port 53', () => {
  assert.deepEqual(ids([['to-ip', '10.244.4.0/24']]), ['drop', 'pv']);
  assert.deepEqual(ids([['from-ip', '10.244.3.9']]), ['dnsr']);
  assert.deepEqual(ids([['snat-ip', '172.18.0.3']]), ['world']);
  // (src ip X AND src port 53) OR (dst ip X AND dst port 53): the query 10.244.1.23:40000 → :53 is not returned.
  assert.deepEqual(ids([['ip', '10.244.1.23'], ['port', '53']]), []);
  assert.deepEqual(ids([['ip', '10.244.3.9'], ['port', '53']]), ['dnsq', 'dnsr']);
  assert.deepEqual(build([['ip', '10.244.1.23'], ['port', '53']]).whitelist, [{ source_ip: ['10.244.1.23'], source_port: ['53'] }, { destination_ip: ['10.244.1.23'], destination_port: ['53'] }]);
  // --to-port goes into both: either side is the IP, and the destination port is 53.
  assert.deepEqual(ids([['ip', '10.244.1.23'], ['to-port', '53']]), ['dnsq', 'sock']);
  assert.match(err([['ip', '10.0.0.300']]), /invalid IP/);
  assert.equal(err([['ip', '1.1.1.1'], ['pod', 'x']]), 'filters --ip and --pod cannot be combined');
  assert.equal(err([['from-ip', '1.1.1.1'], ['from-pod', 'x']]), 'filters --from-ip and --from-pod cannot be combined');
});

test('--fqdn / --from-fqdn / --to-fqdn: case-insensitive, trailing dot ignored, * wildcard, anchored', () => {
  assert.deepEqual(ids([['to-fqdn', '*.GITHUB.com.']]), ['world']);
  assert.deepEqual(ids([['fqdn', 'github.com']]), []);
  assert.deepEqual(ids([['from-fqdn', 'api.github.com']]), []);
});

test('--port / --from-port / --to-port: TCP/UDP ports (ICMP never), L7 flows match', () => {
  assert.deepEqual(ids([['to-port', '8080']]), ['syn', 'httpreq']);
  assert.deepEqual(ids([['port', '8080']]), ['syn', 'synack', 'httpreq', 'httpresp']);
  assert.deepEqual(ids([['from-port', '53']]), ['dnsr']);
  assert.equal(err([['port', '1'], ['to-port', '2']]), 'filters --port and --to-port cannot be combined');
  assert.match(err([['port', 'http']]), /invalid port/);
});

test('--verdict (upper-case names, OR), --drop-reason-desc', () => {
  assert.deepEqual(ids([['verdict', 'DROPPED']]), ['drop', 'pv']);
  assert.deepEqual(ids([['verdict', 'DROPPED'], ['verdict', 'TRACED']]), ['drop', 'pv', 'sock']);
  assert.equal(err([['verdict', 'dropped']]), 'invalid --verdict value: dropped');
  assert.deepEqual(ids([['drop-reason-desc', 'POLICY_DENY']]), ['pv']);
  assert.equal(err([['drop-reason-desc', 'NOPE']]), 'invalid --drop-reason-desc value: NOPE');
});

test('--type TYPE[:SUBTYPE]: names, trace subtypes (to-endpoint = 0), numbers; --type without subtype ignores it', () => {
  assert.deepEqual(ids([['type', 'trace:to-endpoint']]), ['syn', 'dnsr', 'icmp']);
  assert.deepEqual(ids([['type', 'trace:to-network']]), ['dnsq']);
  assert.deepEqual(ids([['type', 'trace']]), ['syn', 'synack', 'dnsq', 'dnsr', 'world', 'icmp']);
  assert.deepEqual(ids([['type', 'drop:133']]), ['drop']);
  assert.deepEqual(ids([['type', 'policy-verdict'], ['type', 'trace-sock']]), ['pv', 'sock']);
  assert.deepEqual(ids([['type', '4:3']]), ['world']);
  assert.deepEqual(ids([['type', 'l7']]), ['httpreq', 'httpresp']);
  assert.match(err([['type', 'sock']]), /^unable to parse type 'sock', not a known type name/);
  assert.match(err([['type', 'trace:nowhere']]), /^unable to parse event sub-type 'nowhere'/);
});

test('--protocol: L4 names test l4 (tcp matches L7 HTTP flows), icmp = v4 or v6, L7 names test l7', () => {
  assert.deepEqual(ids([['protocol', 'TCP']]), ['syn', 'synack', 'drop', 'pv', 'world', 'httpreq', 'httpresp']);
  assert.deepEqual(ids([['protocol', 'icmp']]), ['icmp']);
  assert.deepEqual(ids([['protocol', 'http']]), ['httpreq', 'httpresp']);
  assert.deepEqual(ids([['protocol', 'udp']]), ['dnsq', 'dnsr', 'sock']);
  assert.match(err([['protocol', 'quic']]), /unknown protocol/);
});

test('--http-method / --http-path / --http-url / --http-header / --http-status', () => {
  assert.deepEqual(ids([['http-method', 'get']]), ['httpreq']);
  assert.deepEqual(ids([['http-path', 'exhaust']]), ['httpresp'], 'unanchored RE2 on the path');
  assert.deepEqual(ids([['http-path', '^/api/items$']]), ['httpreq'], 'the query string is not part of the path');
  assert.deepEqual(ids([['http-url', 'x=1$']]), ['httpreq']);
  assert.deepEqual(ids([['http-header', 'X-Request-Id:r1']]), ['httpreq']);
  assert.deepEqual(ids([['http-status', '5+']]), ['httpresp']);
  assert.deepEqual(ids([['http-status', '503']]), ['httpresp']);
  assert.deepEqual(ids([['http-status', '2+']]), [], 'requests never match');
  assert.match(err([['http-header', 'nocolon']]), /expected name:value/);
});

test('--identity / --from-identity / --to-identity: numbers or reserved names', () => {
  assert.deepEqual(ids([['to-identity', 'world']]), ['world', 'sock']);
  assert.deepEqual(ids([['identity', '2105']]), ['dnsq', 'dnsr']);
  assert.deepEqual(ids([['from-identity', 'health']]), []);
  assert.match(err([['identity', 'planet']]), /^invalid security identity, expected one of \[.*world.*\] or a numeric value$/);
});

test('--node-name patterns, --cluster, --node-label', () => {
  assert.deepEqual(ids([['node-name', 'kind-worker2']]), ['synack']);
  assert.deepEqual(ids([['node-name', 'default/kind-*']]), FLOWS.filter((f) => !f.node_name.includes('/')).map((f) => (f as Flow & { id: string }).id));
  assert.deepEqual(ids([['node-name', 'prod/*.example.com']]), ['drop']);
  assert.deepEqual(ids([['cluster', 'prod']]), ['drop']);
  assert.deepEqual(ids([['node-label', 'zone=a']]), ['world']);
  assert.equal(err([['node-name', 'a'], ['cluster', 'b']]), 'filters --node-name and --cluster cannot be combined');
});

test('--traffic-direction, --tcp-flags (all flags of one value), --workload, --uuid, --interface, -4/-6', () => {
  assert.deepEqual(ids([['traffic-direction', 'INGRESS']]), ['drop', 'pv', 'httpreq', 'httpresp']);
  assert.match(err([['traffic-direction', 'up']]), /^up: invalid traffic direction, expected ingress or egress$/);
  assert.deepEqual(ids([['tcp-flags', 'syn,ack']]), ['synack']);
  assert.deepEqual(ids([['tcp-flags', 'fin'], ['tcp-flags', 'syn,ack']]), ['synack', 'world']);
  assert.equal(err([['tcp-flags', 'syn,bogus']]), 'unknown tcp flag: bogus');
  assert.deepEqual(ids([['to-workload', 'StatefulSet/']]), ['drop', 'pv']);
  assert.deepEqual(ids([['workload', 'coredns']]), ['dnsq', 'dnsr']);
  assert.deepEqual(ids([['uuid', 'uuid-pv']]), ['pv']);
  assert.deepEqual(ids([['interface', 'lxc1']]), ['syn']);
  assert.deepEqual(ids(['ipv6']), []);
  assert.equal(ids(['ipv4']).length, FLOWS.length);
});

test('--not: only the next filter flag goes to the denylist; repeated --not of one flag OR; errors for trailing/consecutive', () => {
  assert.deepEqual(ids(['not', ['pod', 'demo/frontend']]), []);
  assert.deepEqual(ids(['not', ['verdict', 'FORWARDED'], 'not', ['verdict', 'TRACED']]), ['drop', 'pv']);
  assert.deepEqual(build(['not', ['http-method', 'put'], 'not', ['http-method', 'get']]).blacklist, [{ http_method: ['put', 'get'] }]);
  // (PUT AND to namespace demo) is hidden; the GET request and everything else stays.
  assert.deepEqual(ids(['not', ['http-method', 'put'], 'not', ['to-namespace', 'demo'], ['type', 'l7']]), ['httpreq']);
  assert.deepEqual(ids([['type', 'l7'], 'not', ['http-method', 'put']]), ['httpreq']);
  assert.equal(err(['not', 'not']), 'consecutive --not statements');
  assert.equal(err(['not']), 'trailing --not found in the arguments');
  assert.deepEqual(ids([['pod', 'demo/frontend'], ['verdict', 'DROPPED']]), ['drop', 'pv'], '(src a AND DROPPED) OR (dst a AND DROPPED)');
});
