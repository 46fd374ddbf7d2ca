// The Star Wars demo (Cilium's http-sw-app.yaml) on the cluster: the
// deathstar answers landing requests from ships through its Service name,
// resolved by CoreDNS and balanced by the socket LB.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/cluster/controllers/common.js';
import { startCluster } from './harness.js';

const deathstar = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'deathstar', namespace: 'default', labels: { app: 'starwars' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { org: 'empire', class: 'deathstar' } },
    template: {
      metadata: { labels: { org: 'empire', class: 'deathstar', 'app.kubernetes.io/name': 'deathstar' } },
      spec: { containers: [{ name: 'deathstar', image: 'docker.io/cilium/starwars', ports: [{ containerPort: 80 }] }] },
    },
  },
};
const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'deathstar', namespace: 'default', labels: { app: 'starwars' } },
  spec: { type: 'ClusterIP', ports: [{ port: 80 }], selector: { org: 'empire', class: 'deathstar' } },
};
const ship = (name: string, org: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { org, class: name, 'app.kubernetes.io/name': name } },
  spec: { containers: [{ name: 'spaceship', image: 'quay.io/cilium/json-mock:v1.3.8' }] },
});

test('Star Wars: the tiefighter and the xwing land on the deathstar (no policy yet)', async () => {
  const c = await startCluster();
  try {
    for (const [res, obj] of [
      [R.deployments, deathstar],
      [R.services, service],
      [R.pods, ship('tiefighter', 'empire')],
      [R.pods, ship('xwing', 'alliance')],
    ] as const) {
      const r = c.rt.api.create(res, 'default', obj);
      assert.ok(r.ok, r.ok ? '' : r.status.message);
    }
    for (const s of ['tiefighter', 'xwing']) {
      const r = await c.exec(`default/${s}`, ['curl', '-s', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'Ship landed\n');
    }
  } finally {
    await c.rt.close();
  }
});
