// The Star Wars demo's L3/L4 part (docs.cilium.io "Identity-Aware and HTTP-Aware
// Policy Enforcement") as real traffic: the tiefighter (org=empire) lands, the
// xwing (org=alliance) times out on the deathstar's port 80. Every verdict is
// attributed: the allow names rule1, the default deny names the policy that
// selected the deathstar, an explicit deny names the deny rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { DropReason } from '../../src/datapath/drop.js';
import { ruleRefText } from '../../src/policy/index.js';
import { cnp, starwarsCluster, type PolicyCluster } from './harness.js';

const starwars = (): Promise<PolicyCluster> => starwarsCluster(3);

const RULE1 = cnp('rule1', {
  description: 'L3-L4 policy to restrict deathstar access to empire ships only',
  endpointSelector: { matchLabels: { org: 'empire', class: 'deathstar' } },
  ingress: [{ fromEndpoints: [{ matchLabels: { org: 'empire' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
});

const LAND = ['curl', '-s', '-m', '2', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing'];

test('Star Wars L3/L4: tiefighter lands, xwing times out; verdicts name rule1 and the default deny', async () => {
  const c = await starwars();
  try {
    // Before any policy both ships land.
    assert.equal((await c.exec('default/xwing', LAND)).stdout, 'Ship landed\n');
    assert.equal((await c.exec('default/tiefighter', LAND)).stdout, 'Ship landed\n');

    c.apply(RULE1);
    c.verdicts();
    const tie = await c.exec('default/tiefighter', LAND);
    assert.equal(tie.code, 0);
    assert.equal(tie.stdout, 'Ship landed\n');
    const allowed = c.verdicts().filter((v) => v.direction === PolicyDir.INGRESS && v.dport === 80);
    assert.ok(allowed.length >= 1, 'a policy verdict at the deathstar');
    const a = c.engine.lookup(allowed[0]!.cookie);
    assert.ok(a, 'the allow verdict carries a cookie the engine knows');
    assert.equal(a.verdict, 'allow');
    assert.deepEqual(
      a.rules.map((r) => ruleRefText(r)),
      ['CiliumNetworkPolicy default/rule1 ingress[0]'],
    );
    assert.deepEqual(
      a.rules[0]!.labels.map((l) => `${l.source}:${l.key}=${l.value}`).slice(0, 3),
      ['k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy', 'k8s:io.cilium.k8s.policy.name=rule1', 'k8s:io.cilium.k8s.policy.namespace=default'],
    );
    // Hubble's names for the same cookie.
    assert.deepEqual(
      c.engine.policies(allowed[0]!.cookie).map((p) => `${p.kind} ${p.namespace}/${p.name}`),
      ['CiliumNetworkPolicy default/rule1'],
    );

    const xw = await c.exec('default/xwing', LAND);
    assert.equal(xw.code, 28, 'the xwing hangs until curl gives up');
    assert.equal(xw.stdout, '');
    const denied = c.verdicts().filter((v) => v.verdict < 0);
    assert.ok(denied.length >= 1);
    const d = denied[0]!;
    assert.equal(-d.verdict, DropReason.POLICY, 'no entry: default deny (133)');
    assert.equal(d.cookie, 0);
    // Explain it from the deathstar endpoint's side.
    const dsPod = c.rt.cache.list(R.pods, 'default').find((p) => p.metadata.labels?.['class'] === 'deathstar')!;
    const node = c.rt.node(String((dsPod['spec'] as { nodeName: string }).nodeName))!;
    const ep = node.agent.endpointOf('default', dsPod.metadata.name!)!;
    const xwIdentity = d.remoteLabel;
    const why = c.engine.explainDrop(
      ep,
      { direction: 'ingress', remoteIdentity: xwIdentity, proto: 6, port: 80, cookie: d.cookie },
    );
    assert.equal(why.kind, 'default-deny');
    assert.equal(why.text, `default deny: selected by CiliumNetworkPolicy default/rule1, no rule allows identity ${xwIdentity} on 80/TCP`);
    assert.deepEqual(
      why.selectedBy.map((r) => r.name),
      ['rule1'],
    );

    // cilium endpoint list: deathstar pods enforce ingress only, the ships nothing.
    for (const n of c.rt.nodes) {
      for (const e of n.agent.endpointList()) {
        if (e.isHost || e.namespace !== 'default') continue;
        const isDs = e.labels.includes('k8s:class=deathstar');
        assert.equal(e.policyIngress, isDs ? 'Enabled' : 'Disabled', e.podName);
        assert.equal(e.policyEgress, 'Disabled', e.podName);
      }
    }

    // An explicit deny for the xwing: drop reason 181 and the deny rule's name.
    c.apply(
      cnp('no-rebels', {
        endpointSelector: { matchLabels: { class: 'deathstar' } },
        ingressDeny: [{ fromEndpoints: [{ matchLabels: { org: 'alliance' } }] }],
      }),
    );
    c.verdicts();
    assert.equal((await c.exec('default/xwing', LAND)).code, 28);
    const deny = c.verdicts().find((v) => v.verdict < 0)!;
    assert.equal(-deny.verdict, DropReason.POLICY_DENY);
    const da = c.engine.lookup(deny.cookie)!;
    assert.equal(da.verdict, 'deny');
    assert.deepEqual(
      da.rules.map((r) => ruleRefText(r)),
      ['CiliumNetworkPolicy default/no-rebels ingressDeny[0]'],
    );
    assert.equal(
      c.engine.explainDrop(
        ep,
        { direction: 'ingress', remoteIdentity: xwIdentity, proto: 6, port: 80, cookie: deny.cookie },
      ).text,
      `ingress identity ${xwIdentity} on 80/TCP: denied by CiliumNetworkPolicy default/no-rebels ingressDeny[0]`,
    );
    // The tiefighter still lands.
    assert.equal((await c.exec('default/tiefighter', LAND)).stdout, 'Ship landed\n');

    // Deleting rule1 and the deny: the xwing lands again, when the delete returns.
    c.remove('CiliumNetworkPolicy', 'rule1');
    c.remove('CiliumNetworkPolicy', 'no-rebels');
    assert.equal((await c.exec('default/xwing', LAND)).stdout, 'Ship landed\n');
  } finally {
    await c.close();
  }
});

test('Star Wars L7 policy: accepted, rules kept for the proxy; the L3/L4 part still decides who connects', async () => {
  const c = await starwars();
  try {
    c.apply(
      cnp('rule1', {
        description: 'L7 policy to restrict access to specific HTTP call',
        endpointSelector: { matchLabels: { org: 'empire', class: 'deathstar' } },
        ingress: [
          {
            fromEndpoints: [{ matchLabels: { org: 'empire' } }],
            toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'POST', path: '/v1/request-landing' }] } }],
          },
        ],
      }),
    );
    assert.equal((await c.exec('default/tiefighter', LAND)).stdout, 'Ship landed\n');
    assert.equal((await c.exec('default/xwing', LAND)).code, 28);
    // What the HTTP proxy will enforce for the tiefighter on port 80.
    const tiePod = c.rt.cache.get(R.pods, 'default', 'tiefighter')!;
    const tieId = c.rt.node(String((tiePod['spec'] as { nodeName: string }).nodeName))!.agent.endpointOf('default', 'tiefighter')!.identity;
    const dsPod = c.rt.cache.list(R.pods, 'default').find((p) => p.metadata.labels?.['class'] === 'deathstar')!;
    const ds = c.rt.node(String((dsPod['spec'] as { nodeName: string }).nodeName))!.agent.endpointOf('default', dsPod.metadata.name!)!;
    const l7 = c.engine.l7Rules(ds, { direction: 'ingress', remoteIdentity: tieId, proto: 6, port: 80 });
    assert.ok(l7);
    assert.equal(l7.allowAll, false);
    assert.deepEqual(l7.rules, [{ http: [{ method: 'POST', path: '/v1/request-landing' }] }]);
  } finally {
    await c.close();
  }
});
