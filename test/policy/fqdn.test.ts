// Reference §6 toFQDNs with §11 DNS rules, in the running cluster: the pod's
// DNS goes through its node's DNS proxy; each allowed answer's addresses are
// learned by the engine (cluster-wide), become /32 local identities (labels
// cidr:<ip>/32, fqdn:<selector>, reserved:world) in every node's ipcache, and
// toFQDNs selectors whose matchName/matchPattern match select them; the answer
// reaches the pod only after the policy maps were written. (Cluster external
// hosts are single DNS labels: `api` resolves after the search list.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCAL_IDENTITY_FLAG } from '../../src/datapath/identity.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { ipv4ToString, parseIpv4Addr } from '../../src/packet/ip.js';
import { PolicyEngine, ruleRefText } from '../../src/policy/index.js';
import { SelectorCache } from '../../src/policy/selector-cache.js';
import { cnp, policyCluster, reach, type PolicyCluster } from './harness.js';

const API = '172.18.0.100';
const WWW = '172.18.0.101';
const OTHER = '172.18.0.102';

const DNS_RULE = {
  toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
  toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*' }] } }],
};

async function world(): Promise<PolicyCluster> {
  const c = await policyCluster({
    config: {
      externalHosts: [
        { name: 'api', ip: API, ports: [{ port: 80 }], app: 'http' },
        { name: 'api2', ip: WWW, ports: [{ port: 80 }], app: 'http' },
        { name: 'www', ip: OTHER, ports: [{ port: 80 }], app: 'http' },
      ],
    },
  });
  c.pod('client', { labels: { app: 'client' }, node: 'kind-worker' });
  return c;
}

const egress = (c: PolicyCluster, toFQDNs: Record<string, string>[]) =>
  c.apply(cnp('fqdn', { endpointSelector: { matchLabels: { app: 'client' } }, egress: [DNS_RULE, { toFQDNs }] }));

test('§6 toFQDNs matchName: the resolved name is reachable, its /32 identity is in every ipcache, other hosts are dropped', async () => {
  const c = await world();
  try {
    egress(c, [{ matchName: 'api' }]);
    // Not resolved yet: nothing learned, the address is dropped.
    assert.equal(await reach(c, 'default/client', `http://${API}/`), 'dropped');

    c.verdicts();
    assert.equal(await reach(c, 'default/client', 'http://api/'), 'ok');
    const learned = c.engine.fqdnCache();
    assert.deepEqual(
      learned.map((e) => [e.name, ipv4ToString(e.ip)]),
      [['api', API]],
    );
    const id = learned[0]!.identity;
    assert.ok(id > LOCAL_IDENTITY_FLAG, `local identity: ${id}`);
    assert.deepEqual(c.engine.identityLabels(id), [`cidr:${API}/32`, 'fqdn:api', 'reserved:world']);
    for (const n of c.rt.nodes) {
      const row = n.agent.ipcacheList().find((r) => r.prefix === `${API}/32`);
      assert.ok(row, `${n.name} has the learned /32`);
      assert.equal(row.identity, id, n.name);
    }

    // The egress allow on port 80 is attributed to the toFQDNs rule (egress[1]).
    const v = c.verdicts().filter((e) => e.direction === PolicyDir.EGRESS && e.dport === 80 && e.verdict >= 0);
    assert.ok(v.length >= 1, 'an egress verdict for the connection');
    const a = c.engine.lookup(v[0]!.cookie);
    assert.ok(a);
    assert.equal(a.verdict, 'allow');
    assert.deepEqual(
      a.rules.map((r) => ruleRefText(r)),
      ['CiliumNetworkPolicy default/fqdn egress[1]'],
    );

    // A name resolved (allowed by the DNS rule) but not matching, and an address never resolved: dropped.
    assert.equal(await reach(c, 'default/client', 'http://api2/'), 'dropped');
    assert.equal(await reach(c, 'default/client', `http://${OTHER}/`), 'dropped');
    // api2 was learned too (the DNS rule allowed it) but no toFQDNs selects it.
    assert.deepEqual(
      c.engine.fqdnCache().map((e) => e.name),
      ['api', 'api2'],
    );

    // A second query keeps the state; the address stays allowed and keeps its identity.
    assert.equal(await reach(c, 'default/client', 'http://api/'), 'ok');
    assert.equal(await reach(c, 'default/client', `http://${API}/`), 'ok');
    assert.equal(c.engine.fqdnCache().find((e) => e.name === 'api')!.identity, id);
  } finally {
    await c.close();
  }
});

test('§6 toFQDNs matchPattern: api* selects api and api2 answers, not www', async () => {
  const c = await world();
  try {
    egress(c, [{ matchPattern: 'api*' }]);
    assert.equal(await reach(c, 'default/client', 'http://api2/'), 'ok');
    assert.equal(await reach(c, 'default/client', 'http://api/'), 'ok');
    assert.equal(await reach(c, 'default/client', 'http://www/'), 'dropped');
    const www = c.engine.fqdnCache().find((e) => e.name === 'api2')!;
    assert.deepEqual(c.engine.identityLabels(www.identity), [`cidr:${WWW}/32`, 'fqdn:api*', 'reserved:world']);
    for (const n of c.rt.nodes) assert.ok(n.agent.ipcacheList().some((r) => r.prefix === `${WWW}/32` && r.identity === www.identity), n.name);

    // Replacing the policy with a matchName keeps what was learned and reselects from it.
    egress(c, [{ matchName: 'api2' }]);
    assert.equal(await reach(c, 'default/client', `http://${WWW}/`), 'ok');
    assert.equal(await reach(c, 'default/client', `http://${API}/`), 'dropped');
    assert.deepEqual(c.engine.identityLabels(www.identity), [`cidr:${WWW}/32`, 'fqdn:api2', 'reserved:world']);
  } finally {
    await c.close();
  }
});

test('toFQDNs selectors: *.example.com matches sub.example.com only; names are lower case with a trailing dot', () => {
  const cache = new SelectorCache();
  const star = cache.acquire({ kind: 'fqdn', matchPattern: '*.example.com' });
  const name = cache.acquire({ kind: 'fqdn', matchName: 'API.example.com.' });
  const p32 = (a: string) => ({ addr: parseIpv4Addr(a)!, prefixLen: 32 });
  cache.upsertIdentity(16777217, ['cidr:192.0.2.1/32', 'reserved:world'], p32('192.0.2.1'), ['api.example.com.']);
  cache.upsertIdentity(16777218, ['cidr:192.0.2.2/32', 'reserved:world'], p32('192.0.2.2'), ['example.com.']);
  cache.upsertIdentity(16777219, ['cidr:192.0.2.3/32', 'reserved:world'], p32('192.0.2.3'), ['a.b.example.com.']);
  cache.upsertIdentity(16777220, ['cidr:192.0.2.4/32', 'reserved:world'], p32('192.0.2.4'));
  assert.deepEqual([...star.ids], [16777217]);
  assert.deepEqual([...name.ids], [16777217]);
  // A selector created later resolves against the learned identities.
  const any = cache.acquire({ kind: 'fqdn', matchPattern: '*' });
  assert.deepEqual([...any.ids].sort(), [16777217, 16777218, 16777219]);
  // The names run out: deselected.
  const changes = cache.upsertIdentity(16777217, ['cidr:192.0.2.1/32', 'reserved:world'], p32('192.0.2.1'), []);
  assert.equal(changes.filter((c) => !c.added).length, 3);
  assert.deepEqual([...star.ids], []);
});

test('toFQDNs learning in the engine: TTL (minimum 3600 s) expiry releases the identity', () => {
  // Unit-level: the engine alone, no cluster.
  return (async () => {
    const e = new PolicyEngine({ fqdnMinTtl: 60 });
    const ip = parseIpv4Addr('192.0.2.7')!;
    e.learnFqdn({ name: 'API.Example.com', ips: [ip], ttl: 30, timeMs: 0 });
    assert.deepEqual(
      e.fqdnCache().map((x) => [x.name, x.expiresMs]),
      [['api.example.com', 60_000]],
    );
    assert.equal(e.prefixIdentities().length, 1);
    assert.equal(e.expireFqdn(59_999), 0);
    assert.equal(e.expireFqdn(60_000), 1);
    assert.deepEqual(e.prefixIdentities(), []);
  })();
});
