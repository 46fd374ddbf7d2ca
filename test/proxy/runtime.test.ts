// The L7 proxy in the running cluster: policies applied through the
// apiserver, the policy engine writes redirecting entries with the
// listener's port, each node's proxy asks the engine for the rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROXY_PORTS } from '../../src/proxy/index.js';
import { cnp, starwarsCluster, type PolicyCluster } from '../policy/harness.js';

const starwars = (): Promise<PolicyCluster> => starwarsCluster(2);

const URL = 'deathstar.default.svc.cluster.local/v1';

test('Star Wars with the L7 rule: tiefighter lands, its PUT /v1/exhaust-port gets Access denied, the xwing hangs', async () => {
  const c = await starwars();
  try {
    c.apply(
      cnp('rule1', {
        description: 'L7 policy to restrict access to specific HTTP call',
        endpointSelector: { matchLabels: { org: 'empire', class: 'deathstar' } },
        ingress: [{ fromEndpoints: [{ matchLabels: { org: 'empire' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'POST', path: '/v1/request-landing' }] } }] }],
      }),
    );
    const land = await c.exec('default/tiefighter', ['curl', '-s', '-m', '2', '-XPOST', `${URL}/request-landing`]);
    assert.equal(land.stdout, 'Ship landed\n');
    const exhaust = await c.exec('default/tiefighter', ['curl', '-s', '-m', '2', '-XPUT', `${URL}/exhaust-port`]);
    assert.equal(exhaust.code, 0);
    assert.equal(exhaust.stdout, 'Access denied\r\n');
    const xwing = await c.exec('default/xwing', ['curl', '-s', '-m', '2', '-XPOST', `${URL}/request-landing`]);
    assert.equal(xwing.code, 28);

    // The engine wrote the redirect with the HTTP ingress listener's port; the proxies logged the exchanges.
    const records = c.rt.nodes.flatMap((n) => [...n.proxy.recentAccessLog()]);
    assert.deepEqual(
      records.map((r) => `${r.ObservationPoint} ${r.Type} ${r.Verdict} ${r.HTTP?.Method} ${r.HTTP?.URL} ${r.HTTP?.Code}`),
      [
        'Ingress Request Forwarded POST http://deathstar.default.svc.cluster.local/v1/request-landing 0',
        'Ingress Response Forwarded POST http://deathstar.default.svc.cluster.local/v1/request-landing 200',
        'Ingress Request Denied PUT http://deathstar.default.svc.cluster.local/v1/exhaust-port 0',
        'Ingress Response Forwarded PUT http://deathstar.default.svc.cluster.local/v1/exhaust-port 403',
      ].filter((_, i) => i < records.length),
    );
    assert.equal(records.length, 4);
    const redirected = c.rt.nodes.reduce((n, x) => n + x.proxy.stats.redirects.http, 0);
    assert.equal(redirected, 2);
    assert.ok(PROXY_PORTS['http-ingress'] > 0);
  } finally {
    await c.close();
  }
});

test('rules.dns in the cluster: queries go through the DNS proxy; a name the rules do not allow is REFUSED', async () => {
  const c = await starwars();
  try {
    c.apply(
      cnp('dns-only-cluster', {
        endpointSelector: { matchLabels: { class: 'tiefighter' } },
        egress: [
          {
            toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
            toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*.*.svc.cluster.local' }] } }],
          },
          { toEndpoints: [{ matchLabels: { org: 'empire', class: 'deathstar' } }] },
        ],
      }),
    );
    const land = await c.exec('default/tiefighter', ['curl', '-s', '-m', '5', '-XPOST', `${URL}/request-landing`]);
    assert.equal(land.stdout, 'Ship landed\n', land.stderr);
    const refused = await c.exec('default/tiefighter', ['nslookup', 'api.github.com']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /REFUSED/);
    const dns = c.rt.nodes.flatMap((n) => [...n.proxy.recentAccessLog()]).filter((r) => r.DNS);
    assert.ok(dns.some((r) => r.Verdict === 'Forwarded' && r.DNS!.Query === 'deathstar.default.svc.cluster.local.'), JSON.stringify(dns.map((r) => [r.Verdict, r.DNS!.Query])));
    assert.ok(dns.some((r) => r.Verdict === 'Denied' && r.DNS!.Query.startsWith('api.github.com.')), 'the refused name was logged');
  } finally {
    await c.close();
  }
});
