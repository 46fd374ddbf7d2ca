// Commands that change the cluster or reach into pods: apply (created /
// unchanged / configured, the last-applied annotation shared with the real
// kubectl), create, delete, label, annotate, scale, rollout status, wait,
// run, exec (exit codes, ds/NAME and deploy/NAME picking the pod kubectl
// picks, sh -c loops that `kill` stops), logs, config and version.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickPod } from '../../src/cli/kubectl/commands/pods.js';
import { PODPATH_BIN, REAL_KUBECTL_SKIP, startCluster, type TestCluster } from './harness.js';

let c: TestCluster;
let work: string;
const LAB = join(process.cwd(), 'labs', '01-packet-flow');

before(async () => {
  c = await startCluster('kubectlwrite');
  work = mkdtempSync(join(tmpdir(), 'podpath-kubectl-write-'));
});

after(async () => {
  await c?.stop();
  rmSync(work, { recursive: true, force: true });
});

const WEB = `apiVersion: v1
kind: Namespace
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
`;

async function ok(args: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await c.kubectl(args, opts);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.err}`);
  return r.out;
}

test('apply: a namespace and what lives in it in one file, then unchanged, then configured', async () => {
  const file = join(work, 'web.yaml');
  writeFileSync(file, WEB);
  assert.equal(await ok(['apply', '-f', file]), 'namespace/web created\ndeployment.apps/web created\nservice/web created\n');
  assert.equal(await ok(['apply', '-f', file]), 'namespace/web unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n');
  writeFileSync(file, WEB.replace('replicas: 2', 'replicas: 3'));
  assert.equal(await ok(['apply', '-f', file]), 'namespace/web unchanged\ndeployment.apps/web configured\nservice/web unchanged\n');
  assert.equal(await ok(['get', 'deploy', 'web', '-n', 'web', '-o', 'jsonpath={.spec.replicas}']), '3');
  const annotation = await ok(['get', 'deploy', 'web', '-n', 'web', '-o', 'jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}']);
  assert.match(annotation, /^\{"apiVersion":"apps\/v1","kind":"Deployment","metadata":\{"annotations":\{\},"labels":\{"app":"web"\},"name":"web","namespace":"web"\},"spec":\{"replicas":3,/);
  // From stdin, and a dry run that changes nothing.
  assert.equal(await ok(['apply', '-f', '-', '--dry-run=server'], { input: WEB.replace('replicas: 2', 'replicas: 5') }), 'namespace/web unchanged (server dry run)\ndeployment.apps/web configured (server dry run)\nservice/web unchanged (server dry run)\n');
  assert.equal(await ok(['get', 'deploy', 'web', '-n', 'web', '-o', 'jsonpath={.spec.replicas}']), '3');
  assert.equal(await ok(['rollout', 'status', 'deploy/web', '-n', 'web']), 'deployment "web" successfully rolled out\n');
  const waited = await ok(['wait', '--for=condition=Ready', 'pod', '-l', 'app=web', '-n', 'web', '--timeout=30s']);
  assert.match(waited, /^(pod\/web-\S+ condition met\n){3}$/);
});

test('apply the lab\'s policies: created, unchanged, and the real kubectl agrees they are unchanged', { skip: existsSync(LAB) ? false : 'the lab is not in this checkout' }, async () => {
  const l7 = join(LAB, 'l7-visibility-policy.yaml');
  assert.equal(await ok(['apply', '-f', l7]), 'ciliumnetworkpolicy.cilium.io/l7-visibility created\n');
  assert.equal(await ok(['apply', '-f', l7]), 'ciliumnetworkpolicy.cilium.io/l7-visibility unchanged\n');
  if (c.real) {
    const theirs = c.real(['apply', '-f', l7]);
    assert.equal(theirs.out, 'ciliumnetworkpolicy.cilium.io/l7-visibility unchanged\n', theirs.err);
  }
  const edited = join(work, 'l7.yaml');
  writeFileSync(edited, readFileSync(l7, 'utf8').replace('L7 visibility for HTTP', 'HTTP visibility'));
  assert.equal(await ok(['apply', '-f', edited]), 'ciliumnetworkpolicy.cilium.io/l7-visibility configured\n');
  assert.equal(await ok(['delete', '-f', edited]), 'ciliumnetworkpolicy.cilium.io "l7-visibility" deleted\n');
  const gone = await c.kubectl(['delete', '-f', edited]);
  assert.equal(gone.code, 1);
  assert.equal(gone.err, `Error from server (NotFound): error when deleting "${edited}": ciliumnetworkpolicies.cilium.io "l7-visibility" not found\n`);
});

test('objects applied by the real kubectl are "unchanged" for podpath\'s, and the other way round', { skip: REAL_KUBECTL_SKIP }, async () => {
  const file = join(work, 'cm.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  labels: {a: b}\ndata:\n  k: "1"\n  text: |\n    multi\n    line\n');
  assert.equal(c.real!(['apply', '-f', file]).out, 'configmap/shared created\n');
  assert.equal(await ok(['apply', '-f', file]), 'configmap/shared unchanged\n');
  writeFileSync(file, readFileSync(file, 'utf8').replace('k: "1"', 'k: "2"'));
  assert.equal(await ok(['apply', '-f', file]), 'configmap/shared configured\n');
  assert.equal(c.real!(['apply', '-f', file]).out, 'configmap/shared unchanged\n');
  assert.equal(await ok(['delete', 'cm', 'shared']), 'configmap "shared" deleted\n');
});

test('create, label, annotate, scale, delete', async () => {
  const file = join(work, 'pod.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\nspec:\n  containers:\n  - name: app\n    image: nginx:1.25\n');
  assert.equal(await ok(['create', '-f', file]), 'pod/solo created\n');
  const again = await c.kubectl(['create', '-f', file]);
  assert.equal(again.code, 1);
  assert.equal(again.err, `Error from server (AlreadyExists): error when creating "${file}": pods "solo" already exists\n`);
  assert.equal(await ok(['label', 'pod', 'solo', 'tier=web']), 'pod/solo labeled\n');
  assert.equal(await ok(['label', 'pod', 'solo', 'tier=web']), 'pod/solo not labeled\n');
  const clash = await c.kubectl(['label', 'pod', 'solo', 'tier=db']);
  assert.equal(clash.err, "error: 'tier' already has a value (web), and --overwrite is false\n");
  assert.equal(await ok(['label', 'pod', 'solo', 'tier=db', '--overwrite']), 'pod/solo labeled\n');
  assert.equal(await ok(['label', 'pod', 'solo', 'tier-']), 'pod/solo unlabeled\n');
  assert.equal(await ok(['label', 'pod', 'solo', 'tier-']), 'label "tier" not found.\npod/solo not labeled\n');
  assert.equal(await ok(['annotate', 'pod', 'solo', 'note=hello']), 'pod/solo annotated\n');
  assert.equal(await ok(['get', 'pod', 'solo', '-o', 'jsonpath={.metadata.annotations.note}']), 'hello');
  assert.equal(await ok(['annotate', 'pod', 'solo', 'note-']), 'pod/solo annotated\n');
  assert.equal(await ok(['scale', 'deploy/web', '-n', 'web', '--replicas=1']), 'deployment.apps/web scaled\n');
  assert.equal(await ok(['get', 'deploy', 'web', '-n', 'web', '-o', 'jsonpath={.spec.replicas}']), '1');
  assert.equal(await ok(['delete', 'pod', 'solo']), 'pod "solo" deleted\n');
  assert.equal(await ok(['delete', 'deploy,svc', '-n', 'web', '-l', 'app=web']), 'deployment.apps "web" deleted\n');
  const none = await c.kubectl(['delete', 'pods', '-n', 'web', '-l', 'app=nothing']);
  assert.equal(none.err, 'No resources found in web namespace.\n');
});

test('run creates a pod; run --rm -i runs the command in it and deletes it', async () => {
  assert.equal(await ok(['run', 'probe', '--image=busybox', '--restart=Never', '-n', 'demo']), 'pod/probe created\n');
  const pod = JSON.parse(await ok(['get', 'pod', 'probe', '-n', 'demo', '-o', 'json'])) as { metadata: { labels: Record<string, string> }; spec: { restartPolicy: string; containers: { name: string; image: string }[] } };
  assert.deepEqual(pod.metadata.labels, { run: 'probe' });
  assert.equal(pod.spec.restartPolicy, 'Never');
  assert.deepEqual([pod.spec.containers[0]!.name, pod.spec.containers[0]!.image], ['probe', 'busybox']);
  await ok(['delete', 'pod', 'probe', '-n', 'demo']);
  const r = await c.kubectl(['run', 'once', '--rm', '-i', '--image=busybox', '--restart=Never', '-n', 'demo', '--', 'hostname']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'once\npod "once" deleted\n');
});

test('exec: output and exit codes pass through, and workloads resolve to the pod kubectl picks', async () => {
  const frontend = await ok(['get', 'pod', '-n', 'demo', '-l', 'app=frontend', '-o', 'jsonpath={.items[0].metadata.name}']);
  const users = await ok(['exec', '-n', 'demo', frontend, '--', 'curl', '-s', 'http://backend:8080/api/users']);
  assert.ok(Array.isArray(JSON.parse(users)));
  const timeout = await c.kubectl(['exec', '-n', 'demo', frontend, '--', 'curl', '-sS', '--max-time', '5', 'http://10.0.9.9:8080/']);
  assert.equal(timeout.code, 28);
  assert.match(timeout.err, /^curl: \(28\) .*\ncommand terminated with exit code 28\n$/);

  const agents = JSON.parse(await ok(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=cilium', '-o', 'json'])) as { items: never[] };
  const expected = pickPod(agents.items)!.metadata.name;
  assert.equal(await ok(['-n', 'kube-system', 'exec', 'ds/cilium', '--', 'hostname']), `${expected}\n`);
  const backend = await ok(['exec', '-n', 'demo', 'deploy/backend', '--', 'hostname']);
  assert.match(backend, /^backend-/);
  assert.equal(await ok(['exec', '-n', 'demo', `pod/${frontend}`, '--', 'hostname']), `${frontend}\n`);

  const multi = await c.kubectl(['exec', '-n', 'kube-system', 'deploy/hubble-ui', '--', 'hostname']);
  assert.match(multi.err, /^Defaulted container "frontend" out of: frontend, backend\n$/);
  const badContainer = await c.kubectl(['exec', '-n', 'demo', frontend, '-c', 'nope', '--', 'hostname']);
  assert.equal(badContainer.err, `Error from server (BadRequest): container nope is not valid for pod ${frontend}\n`);
});

test('exec sh -c runs a real shell loop (as a process) and kill stops it', { skip: existsSync('/bin/bash') ? false : 'bash is not installed' }, async () => {
  const frontend = await ok(['get', 'pod', '-n', 'demo', '-l', 'app=frontend', '-o', 'jsonpath={.items[0].metadata.name}']);
  const script = 'for i in 1 2 3; do curl -s -o /dev/null -w "%{http_code} " http://backend:8080; done; echo; exit 3';
  const r = c.kubectlProcess(['exec', '-n', 'demo', frontend, '--', 'sh', '-c', script]);
  assert.equal(r.code, 3, r.err);
  assert.equal(r.out, '200 200 200 \n');
  assert.equal(r.err, 'command terminated with exit code 3\n');

  const loop = spawn(process.execPath, [PODPATH_BIN, 'kubectl', 'exec', '-n', 'demo', frontend, '--', 'sh', '-c', 'while true; do curl -s -o /dev/null http://backend:8080; sleep 1; done'], { env: c.env, stdio: 'ignore' });
  await new Promise((r2) => setTimeout(r2, 1500));
  const started = Date.now();
  loop.kill('SIGTERM');
  const code = await new Promise<number | null>((r2) => loop.on('exit', (code2, signal) => r2(code2 ?? (signal ? 143 : null))));
  assert.ok(Date.now() - started < 3000, 'kill stops the traffic loop promptly');
  assert.notEqual(code, 0);
});

test('logs, config view and version', async () => {
  const frontend = await ok(['get', 'pod', '-n', 'demo', '-l', 'app=frontend', '-o', 'jsonpath={.items[0].metadata.name}']);
  const logs = await c.kubectl(['logs', '-n', 'demo', frontend]);
  if (logs.code !== 0) assert.match(logs.err, /^error: podpath's cluster does not serve container logs \(pods\/log\) yet/);
  const config = await ok(['config', 'view']);
  assert.match(config, /^apiVersion: v1\nclusters:\n- cluster:\n/);
  assert.match(config, /current-context: podpath-kubectlwrite\n/);
  assert.doesNotMatch(config, /token: [0-9a-f]{16}/, 'secrets are redacted');
  assert.equal(await ok(['config', 'current-context']), 'podpath-kubectlwrite\n');
  assert.equal(await ok(['version']), 'Client Version: v1.32.0-podpath\nServer Version: v1.32.0-podpath\n');
  const json = JSON.parse(await ok(['version', '-o', 'json'])) as { clientVersion: { minor: string }; serverVersion: { gitVersion: string } };
  assert.equal(json.serverVersion.gitVersion, 'v1.32.0-podpath');
});
