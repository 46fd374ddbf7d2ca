// The cluster config: kind's defaults, and bad files rejected with the field that is wrong.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultClusterConfig, nodeLayout, parseClusterConfig, parseClusterConfigYaml } from '../../src/cluster/config.js';
import { ipv4ToString } from '../../src/packet/ip.js';

test('defaults: kind names, 172.18.0.x nodes, 10.244.N.0/24 pod CIDRs, Cilium defaults', () => {
  const cfg = defaultClusterConfig();
  assert.equal(cfg.workers, 3);
  assert.equal(cfg.serviceCIDR, '10.96.0.0/16');
  assert.deepEqual(cfg.cilium, { clusterName: 'default', version: '1.17.4', policyEnforcementMode: 'default', policyAuditMode: false, socketLB: true, monitorAggregation: 'medium' });
  assert.deepEqual(
    nodeLayout(cfg).map((n) => `${n.name} ${n.role} ${ipv4ToString(n.ip)} ${ipv4ToString(n.podCidr.addr)}/${n.podCidr.prefixLen}`),
    ['kind-control-plane control-plane 172.18.0.2 10.244.0.0/24', 'kind-worker worker 172.18.0.3 10.244.1.0/24', 'kind-worker2 worker 172.18.0.4 10.244.2.0/24', 'kind-worker3 worker 172.18.0.5 10.244.3.0/24'],
  );
  const named = defaultClusterConfig({ name: 'lab', workers: 1, podCIDRs: { 'lab-worker': '10.0.1.0/24' } });
  assert.deepEqual(nodeLayout(named).map((n) => `${n.name} ${ipv4ToString(n.podCidr.addr)}`), ['lab-control-plane 10.244.0.0', 'lab-worker 10.0.1.0']);
});

test('YAML with an external host', () => {
  const r = parseClusterConfigYaml(`
name: lab
workers: 2
cilium:
  policyEnforcementMode: always
  socketLB: false
externalHosts:
  - name: api-server
    ip: 172.18.0.100
    ports: [{ port: 443 }, { port: 53, protocol: UDP }]
    app: echo
`);
  assert.ok(r.ok, r.ok ? '' : r.message);
  assert.equal(r.config.cilium.socketLB, false);
  assert.deepEqual(r.config.externalHosts[0], { name: 'api-server', ip: '172.18.0.100', app: 'echo', ports: [{ port: 443, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] });
});

test('bad configs name the field, as kubectl does', () => {
  const cases: [unknown, string][] = [
    [{ workers: 'three' }, 'workers: Invalid value: "three": expected number'],
    [{ workerz: 3 }, 'workerz: Forbidden: unknown field'],
    [{ cilium: { policyEnforcementMode: 'sometimes' } }, 'cilium.policyEnforcementMode: Unsupported value: "sometimes": supported values: "always", "default", "never"'],
    [{ cilium: { monitorAggregation: 'loud' } }, 'cilium.monitorAggregation: Unsupported value'],
    [{ externalHosts: [{ name: 'db', ip: '300.1.2.3' }] }, 'externalHosts[0].ip: Invalid value: "300.1.2.3": must be a valid IPv4 address'],
    [{ externalHosts: [{ name: 'db', ip: '10.244.3.3' }] }, 'externalHosts[0].ip: Invalid value: "10.244.3.3": is inside the pod CIDR'],
    [{ externalHosts: [{ name: 'db', ip: '172.18.0.3' }] }, 'externalHosts[0].ip: Duplicate value'],
    [{ externalHosts: [{ name: 'db', ip: '172.18.0.50', ports: [{ port: 70000 }] }] }, 'externalHosts[0].ports[0].port: Invalid value: 70000'],
    [{ externalHosts: [{ name: 'db', ip: '172.18.0.50', app: 'ftp' }] }, 'externalHosts[0].app: Unsupported value: "ftp"'],
    [{ serviceCIDR: '10.244.0.0/20' }, 'serviceCIDR: Invalid value: "10.244.0.0/20": overlaps podCIDR'],
    [{ podCIDR: '10.244.0.1/16' }, 'podCIDR: Invalid value: "10.244.0.1/16": must be a network address'],
    [{ podCIDRs: { 'kind-worker9': '10.9.0.0/24' } }, 'podCIDRs[kind-worker9]: Unsupported value'],
    [{ name: 'Kind' }, 'name: Invalid value: "Kind"'],
  ];
  for (const [input, expected] of cases) {
    const r = parseClusterConfig(input);
    assert.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) assert.ok(r.message.includes(expected), `${JSON.stringify(input)} → ${r.message}`);
  }
  const yaml = parseClusterConfigYaml('workers: [1,\n');
  assert.equal(yaml.ok, false);
});
