// The Deployment the scale benches (cluster, kubectl) fill a cluster with.

import type { ClusterRuntime } from '../src/cluster/runtime.js';
import { lookupResource } from '../src/k8s/resources.js';

/** Create Deployment default/scale with `replicas` agnhost pods (label app=scale); throws on an API error. */
export function createScaleDeployment(rt: ClusterRuntime, replicas: number): void {
  const r = rt.api.create(lookupResource('deployments')!, 'default', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'scale', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'scale' } },
      template: { metadata: { labels: { app: 'scale' } }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', args: ['netexec', '--http-port=8080'], ports: [{ containerPort: 8080 }] }] } },
    },
  });
  if (!r.ok) throw new Error(r.status.message);
}
