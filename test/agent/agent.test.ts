// One agent's view through a running cluster: what `cilium endpoint list`,
// `cilium identity list` and `cilium service list` need, the CiliumNode it
// publishes, its policy maps under each enforcement mode.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import { ReservedIdentity } from '../../src/datapath/identity.js';
import { EndpointFlags } from '../../src/datapath/maps.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { ipv4ToString } from '../../src/packet/ip.js';
import { NoRulesPolicy } from '../../src/agent/policy.js';
import { nodeOf, podIp, pods, startCluster } from '../cluster/harness.js';
import { readMaps } from '../cluster/maps.js';

function policyEntries(rt: Awaited<ReturnType<typeof startCluster>>['rt'], node: string, epId: number): string[] {
  const n = rt.node(node)!;
  const map = n.dp.maps.get(`cilium_policy_${String(epId).padStart(5, '0')}`)!;
  const out: string[] = [];
  map.forEach((keys, k) => {
    const identity = keys[k + 4]! | (keys[k + 5]! << 8) | (keys[k + 6]! << 16) | (keys[k + 7]! << 24);
    out.push(`${keys[k + 8] ? 'egress' : 'ingress'} id=${identity} proto=${keys[k + 9]} port=${(keys[k + 10]! << 8) | keys[k + 11]!}`);
  });
  return out.sort();
}

test('endpoint list: the host endpoint and each pod with its identity, labels and policy columns', async () => {
  const { rt } = await startCluster();
  try {
    rt.deployDemo();
    const fe = pods(rt, 'demo', 'frontend')[0]!;
    const agent = rt.node(nodeOf(fe))!.agent;
    const list = agent.endpointList();
    assert.deepEqual(list.map((e) => e.id), [...list.map((e) => e.id)].sort((a, b) => a - b), 'sorted by endpoint ID');
    const host = list.find((e) => e.isHost)!;
    assert.equal(host.identity, ReservedIdentity.HOST);
    assert.ok(host.labels.includes('reserved:host'));
    assert.equal(host.ipv4, undefined);
    const ep = agent.endpointOf('demo', fe.metadata.name ?? '')!;
    assert.equal(ep.ipv4, podIp(fe));
    assert.equal(ep.policyIngress, 'Disabled');
    assert.equal(ep.policyEgress, 'Disabled');
    assert.equal(ep.state, 'ready');
    assert.match(ep.ifName ?? '', /^lxc[0-9a-f]{12}$/);
    assert.ok(ep.labels.includes('k8s:io.cilium.k8s.policy.cluster=default'));
    assert.deepEqual(policyEntries(rt, nodeOf(fe), ep.id), ['egress id=0 proto=0 port=0', 'ingress id=0 proto=0 port=0']);
    // The endpoint's compiled config has no enforced direction.
    assert.equal(rt.node(nodeOf(fe))!.kernel.endpoints.get(ep.id)!.cfg.policyVerdictLogFilter, 0);

    // identity list: reserved first, then every cluster identity, including the frontend's.
    const ids = agent.identityList();
    assert.equal(ids[0]!.id, 1);
    assert.ok(ids.some((i) => i.id === ep.identity && i.labels.includes('k8s:app=frontend')));
    // service list on any node: the same frontends with the same IDs (agents see events in the same order).
    const lists = rt.nodes.map((n) => n.agent.serviceList().map((s) => `${s.id} ${s.frontend}`).join(','));
    assert.equal(new Set(lists).size, 1);
  } finally {
    await rt.close();
  }
});

test('each agent publishes a CiliumNode and seeds its own addresses, the world and the host entries', async () => {
  const { rt } = await startCluster();
  try {
    for (const n of rt.nodes) {
      const cn = rt.cache.get(R.ciliumNodes, undefined, n.name)!;
      const spec = cn['spec'] as { addresses: { type: string; ip: string }[]; ipam: { podCIDRs: string[] } };
      assert.deepEqual(spec.addresses, [
        { type: 'InternalIP', ip: ipv4ToString(n.ip) },
        { type: 'CiliumInternalIP', ip: ipv4ToString(n.agent.routerIp) },
      ]);
      assert.deepEqual(spec.ipam.podCIDRs, [`${ipv4ToString(n.podCidr.addr)}/24`]);
      const maps = readMaps(n.dp);
      assert.deepEqual(maps.lxc.get(ipv4ToString(n.ip)), { id: 0, identity: ReservedIdentity.HOST, flags: EndpointFlags.HOST });
      assert.deepEqual(maps.lxc.get(ipv4ToString(n.agent.routerIp)), { id: 0, identity: ReservedIdentity.HOST, flags: EndpointFlags.HOST });
      assert.equal(maps.ipcache.get(`${ipv4ToString(n.agent.routerIp)}/32`)?.identity, ReservedIdentity.HOST);
      for (const other of rt.nodes) {
        if (other === n) continue;
        assert.equal(maps.ipcache.get(`${ipv4ToString(other.agent.routerIp)}/32`)?.tunnel, ipv4ToString(other.ip), 'remote cilium_host behind its node');
      }
      assert.notEqual(n.agent.routerIp, n.podCidr.addr);
      assert.equal(n.dp.cfg.routerIp, n.agent.routerIp, 'the datapath was built with the same router address');
    }
  } finally {
    await rt.close();
  }
});

test('policyEnforcementMode always: both directions enforced, only the host allowed in; audit mode shows in the columns', async () => {
  const { rt, exec } = await startCluster({ config: { cilium: { policyEnforcementMode: 'always', policyAuditMode: true } } });
  try {
    rt.deployDemo();
    const fe = pods(rt, 'demo', 'frontend')[0]!;
    const agent = rt.node(nodeOf(fe))!.agent;
    const ep = agent.endpointOf('demo', fe.metadata.name ?? '')!;
    assert.equal(ep.policyIngress, 'Disabled (Audit)');
    assert.deepEqual(policyEntries(rt, nodeOf(fe), ep.id), [`ingress id=${ReservedIdentity.HOST} proto=0 port=0`]);
    assert.equal(rt.node(nodeOf(fe))!.kernel.endpoints.get(ep.id)!.cfg.policyVerdictLogFilter, PolicyDir.INGRESS | PolicyDir.EGRESS);
    const cep = rt.cache.get(R.ciliumEndpoints, 'demo', fe.metadata.name ?? '')!;
    assert.deepEqual((cep['status'] as { policy: unknown }).policy, { egress: { enforcing: true, state: '<status disabled>' }, ingress: { enforcing: true, state: '<status disabled>' } });
    // Audit mode: the datapath reports but does not drop, so traffic still flows.
    const r = await exec(`demo/${fe.metadata.name}`, ['curl', '-s', 'http://backend:8080/health']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await rt.close();
  }
});

test('a policy engine plugs in through PolicyComputer: its entries land in the maps and the datapath enforces them', async () => {
  const { rt, exec } = await startCluster();
  try {
    rt.deployDemo();
    const identityOf = (app: string): number => {
      const p = pods(rt, 'demo', app)[0]!;
      return (rt.cache.get(R.ciliumEndpoints, 'demo', p.metadata.name ?? '')!['status'] as { identity: { id: number } }).identity.id;
    };
    const frontendId = identityOf('frontend');
    rt.setPolicyComputer({
      compute(ep, mode) {
        if (!ep.labels.includes('k8s:app=backend')) return new NoRulesPolicy().compute(ep, mode);
        return {
          ingressEnforced: true,
          egressEnforced: false,
          entries: [
            { identity: frontendId, egress: false, proto: 6, port: 8080 },
            { identity: ReservedIdentity.HOST, egress: false, proto: 0, port: 0 },
            { identity: 0, egress: true, proto: 0, port: 0 },
          ],
        };
      },
    });
    const be = pods(rt, 'demo', 'backend')[0]!;
    const ep = rt.node(nodeOf(be))!.agent.endpointOf('demo', be.metadata.name ?? '')!;
    assert.equal(ep.policyIngress, 'Enabled');
    assert.deepEqual(policyEntries(rt, nodeOf(be), ep.id), ['egress id=0 proto=0 port=0', `ingress id=${ReservedIdentity.HOST} proto=0 port=0`, `ingress id=${frontendId} proto=6 port=8080`]);
    const fe = pods(rt, 'demo', 'frontend')[0]!;
    const ok = await exec(`demo/${fe.metadata.name}`, ['curl', '-s', '-m', '3', `http://${podIp(be)}:8080/health`]);
    assert.equal(ok.code, 0, ok.stderr);
    const db = pods(rt, 'demo', 'database')[0]!;
    const denied = await exec(`demo/${db.metadata.name}`, ['curl', '-s', '-m', '3', `http://${podIp(be)}:8080/health`]);
    assert.equal(denied.code, 28, 'dropped by policy: curl times out');
  } finally {
    await rt.close();
  }
});
