// kubectl get and describe on a demo cluster: what the lab types works, and
// podpath's kubectl prints what the real kubectl prints against the same
// apiserver (compared side by side when a real kubectl is on PATH).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REAL_KUBECTL_SKIP, sameOutput, startCluster, type TestCluster } from './harness.js';

let c: TestCluster;

before(async () => {
  c = await startCluster('kubectlget');
});

after(async () => {
  await c?.stop();
});

test('the lab\'s get commands: pods -o wide, jsonpath for a pod name and a cluster IP, cep fields', async () => {
  const wide = await c.kubectl(['get', 'pods', '-n', 'demo', '-o', 'wide']);
  assert.equal(wide.code, 0, wide.err);
  assert.match(wide.out, /^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES\n/);
  assert.match(wide.out, /\nfrontend-\S+ +1\/1 +Running +0 +\S+ +10\.\d+\.\d+\.\d+ +kubectlget-worker\d* +<none> +<none>\n/);

  const frontend = await c.kubectl(['get', 'pod', '-n', 'demo', '-l', 'app=frontend', '-o', 'jsonpath={.items[0].metadata.name}']);
  assert.match(frontend.out, /^frontend-[a-z0-9]+-[a-z0-9]{5}$/);
  const ip = await c.kubectl(['get', 'svc', '-n', 'demo', 'backend', '-o', 'jsonpath={.spec.clusterIP}']);
  assert.match(ip.out, /^10\.96\.\d+\.\d+$/);
  const node = await c.kubectl(['get', 'pod', '-n', 'demo', frontend.out, '-o', 'jsonpath={.spec.nodeName}']);
  assert.match(node.out, /^kubectlget-worker\d*$/);
  const cep = await c.kubectl(['get', 'cep', '-n', 'demo', frontend.out, '-o', 'jsonpath={.status.id}']);
  assert.match(cep.out, /^\d+$/);
  const enforcement = await c.kubectl(['get', 'cep', '-n', 'demo', '-l', 'app=backend', '-o', 'yaml']);
  assert.match(enforcement.out, /^- apiVersion: cilium.io\/v2\n {2}kind: CiliumEndpoint\n/m);
});

test('every served kind prints a table, endpoints included', async () => {
  for (const type of ['po', 'svc', 'deploy', 'ds', 'no', 'ns', 'endpointslices', 'netpol', 'cnp', 'ccnp', 'cep', 'ciliumidentities', 'configmaps', 'all', 'rs']) {
    const r = await c.kubectl(['get', type, '-A']);
    assert.equal(r.code, 0, `${type}: ${r.err}`);
    assert.ok(r.out || /^No resources found\n$/.test(r.err), `${type}: ${r.out}${r.err}`);
  }
  const ep = await c.kubectl(['get', 'endpoints', '-n', 'demo', 'backend']);
  assert.match(ep.out, /^NAME +ENDPOINTS +AGE\nbackend +10\.\d+\.\d+\.\d+:8080,10\.\d+\.\d+\.\d+:8080 +\S+\n$/);
  const epYaml = await c.kubectl(['get', 'ep', '-n', 'demo', 'backend', '-o', 'jsonpath={.subsets[0].ports[0].port}']);
  assert.equal(epYaml.out, '8080');
});

test('get -w prints the change that happens after the list', async () => {
  const aborter = new AbortController();
  const watching = c.kubectl(['get', 'pods', '-n', 'demo', '-l', 'app=backend', '-w'], { signal: aborter.signal });
  await new Promise((r) => setTimeout(r, 300));
  const label = await c.kubectl(['label', 'pods', '-n', 'demo', '-l', 'app=backend', 'watched=yes']);
  assert.equal(label.code, 0, label.err);
  await new Promise((r) => setTimeout(r, 300));
  aborter.abort();
  const r = await watching;
  const lines = r.out.trim().split('\n');
  assert.match(lines[0]!, /^NAME +READY +STATUS +RESTARTS +AGE$/);
  assert.ok(lines.length >= 5, r.out);
  // Rows printed later line up with the header (kubectl's remembered widths).
  assert.equal(lines[3]!.indexOf('1/1'), lines[0]!.indexOf('READY'));
  await c.kubectl(['label', 'pods', '-n', 'demo', '-l', 'app=backend', 'watched-']);
});

/** Commands whose output real kubectl and podpath's kubectl must print alike. */
const SIDE_BY_SIDE: string[][] = [
  ['get', 'pods', '-n', 'demo', '-o', 'wide'],
  ['get', 'all', '-A'],
  ['get', 'all', '-n', 'demo', '-o', 'name'],
  ['get', 'nodes', '-o', 'wide'],
  ['get', 'ns'],
  ['get', 'cep', '-A'],
  ['get', 'ciliumidentities'],
  ['get', 'ciliumnodes'],
  ['get', 'endpointslices', '-A'],
  ['get', 'netpol', '-A'],
  ['get', 'cnp', '-A'],
  ['get', 'ccnp'],
  ['get', 'cm', '-A'],
  ['get', 'ds', '-A', '-o', 'wide'],
  ['get', 'deploy', '-n', 'demo', '-o', 'wide'],
  ['get', 'rs', '-n', 'demo', '--show-labels'],
  ['get', 'pods,svc', '-n', 'demo', '--show-labels'],
  ['get', 'pods,svc', '-n', 'demo', '--no-headers'],
  ['get', 'pods', '-n', 'demo', '-L', 'app', '-l', 'app=frontend'],
  ['get', 'svc/backend', 'deploy/frontend', '-n', 'demo'],
  ['get', 'svc', '-n', 'demo', 'backend', 'database'],
  ['get', 'svc', '-n', 'demo', '-o', 'yaml'],
  ['get', 'svc', '-n', 'demo', 'backend', '-o', 'json'],
  ['get', 'deploy', '-n', 'demo', 'frontend', '-o', 'yaml'],
  ['get', 'cep', '-n', 'demo', '-o', 'yaml'],
  ['get', 'nodes', '-o', 'json'],
  ['get', 'ds', '-n', 'kube-system', 'cilium', '-o', 'yaml'],
  ['get', 'svc', '-n', 'demo', '-o', 'custom-columns=NAME:.metadata.name,PORTS:.spec.ports[*].port,SEL:.spec.selector,X:.nope'],
  ['get', 'pods', '-n', 'demo', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.podIP}{"\\n"}{end}'],
  ['get', 'pods', '-n', 'demo', '-o', 'jsonpath={.items[?(@.metadata.labels.app=="backend")].spec.nodeName}'],
  ['get', 'nodes', '-o', 'jsonpath={..address}'],
  ['get', 'svc', '-n', 'demo', '-o', 'jsonpath={.items[5].metadata.name}'],
  ['get', 'pods', '-n', 'nope'],
  ['get', 'pods', '-A', '-l', 'app=none'],
  ['get', 'pods', '-n', 'demo', 'nope', 'missing'],
  ['get', 'pods', '-n', 'kube-system', '--sort-by=.metadata.name', '-o', 'name'],
  ['describe', 'svc', '-n', 'demo', 'backend'],
  ['describe', 'deploy', '-n', 'demo', 'frontend'],
  ['describe', 'pods', '-n', 'demo', '-l', 'app=backend'],
  ['describe', 'pod', '-n', 'kube-system', 'hubble-ui'],
  ['describe', 'node', 'kubectlget-worker'],
  ['describe', 'ns', 'demo'],
  ['describe', 'cep', '-n', 'demo'],
  ['describe', 'ciliumidentities'],
  ['api-resources'],
  ['api-resources', '-o', 'wide'],
  ['api-resources', '--namespaced=false', '--no-headers'],
  ['api-versions'],
];

test('podpath\'s kubectl prints what the real kubectl prints', { skip: REAL_KUBECTL_SKIP }, async () => {
  const differences: string[] = [];
  for (const args of SIDE_BY_SIDE) {
    const mine = await c.kubectl(args);
    const theirs = c.real!(args);
    if (mine.code !== theirs.code || !sameOutput(mine.out, theirs.out) || !sameOutput(mine.err, theirs.err)) {
      differences.push(`kubectl ${args.join(' ')}\n--- real (${theirs.code})\n${theirs.out}${theirs.err}\n--- podpath (${mine.code})\n${mine.out}${mine.err}`);
    }
  }
  assert.deepEqual(differences, []);
});
