// The real kubectl (v1.32, found on PATH outside podpath's shims) against a
// podpath demo cluster: discovery (`api-resources`, `get all`), `get` of every
// served kind in every output format the lab uses, compared with podpath's own
// kubectl (both print from the same server-side Table); apply of the lab's
// manifests (created, unchanged, configured), delete, label, wait, `get -w`
// seeing a change, and errors as kubectl words them from the server's Status.
// The 401 without the token and the kubeconfig's mode 0600 are asserted in
// test/cluster/daemon.test.ts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESOURCES, type ResourceInfo } from '../../src/k8s/resources.js';
import { REAL_KUBECTL_SKIP, sameOutput, startCluster, type RunResult, type TestCluster } from './harness.js';

const NAME = 'realkubectl';
const LAB = join(process.cwd(), 'labs', '01-packet-flow');
let c: TestCluster;
let work: string;

before(async () => {
  if (REAL_KUBECTL_SKIP) return;
  c = await startCluster(NAME);
  work = mkdtempSync(join(tmpdir(), 'podpath-real-kubectl-'));
});

after(async () => {
  await c?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The real kubectl, which must succeed. */
function real(args: string[], opts: { input?: string; cwd?: string } = {}): string {
  const r = c.real!(args, opts);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.err}`);
  return r.out;
}

/** `pods`, `deployments.apps`, `ciliumnetworkpolicies.cilium.io`: the names `api-resources -o name` prints. */
function typeName(r: ResourceInfo): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

// The columns `kubectl get` shows for each kind against a real cluster:
// Kubernetes' printers and the printer columns of Cilium's CRDs.
const HEADERS: Record<string, string[]> = {
  pods: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
  services: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
  nodes: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
  namespaces: ['NAME', 'STATUS', 'AGE'],
  configmaps: ['NAME', 'DATA', 'AGE'],
  serviceaccounts: ['NAME', 'SECRETS', 'AGE'],
  events: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
  endpoints: ['NAME', 'ENDPOINTS', 'AGE'],
  'deployments.apps': ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
  'replicasets.apps': ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'],
  'daemonsets.apps': ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
  'endpointslices.discovery.k8s.io': ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
  'networkpolicies.networking.k8s.io': ['NAME', 'POD-SELECTOR', 'AGE'],
  'ciliumnetworkpolicies.cilium.io': ['NAME', 'AGE', 'VALID'],
  'ciliumclusterwidenetworkpolicies.cilium.io': ['NAME', 'AGE', 'VALID'],
  'ciliumendpoints.cilium.io': ['NAME', 'SECURITY IDENTITY', 'ENDPOINT STATE', 'IPV4', 'IPV6'],
  'ciliumidentities.cilium.io': ['NAME', 'NAMESPACE', 'AGE'],
  'ciliumnodes.cilium.io': ['NAME', 'CILIUMINTERNALIP', 'INTERNALIP', 'AGE'],
};

/** The header line as kubectl lays it out: columns split by runs of 2+ spaces. */
function header(out: string): string[] {
  return (out.split('\n')[0] ?? '').trim().split(/ {2,}/);
}

const NETPOL = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-backend
  namespace: demo
spec:
  podSelector:
    matchLabels: {app: database}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: backend}
`;

const CCNP = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: allow-dns
spec:
  endpointSelector: {}
  egress:
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s:k8s-app: kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
`;

test('api-resources lists every kind podpath serves with its short names; get all shows the workloads', { skip: REAL_KUBECTL_SKIP }, async () => {
  const out = real(['api-resources']);
  assert.match(out, /^NAME +SHORTNAMES +APIVERSION +NAMESPACED +KIND\n/);
  const rows = new Map(
    out
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const cells = line.split(/ {2,}/);
        // SHORTNAMES is blank for some kinds: then there are 4 cells.
        return [cells[0]!, cells.length === 5 ? cells : [cells[0]!, '', ...cells.slice(1)]] as const;
      }),
  );
  for (const r of RESOURCES) {
    const row = rows.get(r.plural);
    assert.ok(row, `${r.plural} in api-resources:\n${out}`);
    assert.deepEqual(row, [r.plural, r.shortNames.join(','), r.group ? `${r.group}/${r.version}` : r.version, String(r.namespaced), r.kind]);
  }
  assert.equal(rows.size, RESOURCES.length, out);
  for (const short of ['po', 'svc', 'deploy', 'ds', 'ns', 'netpol', 'cnp', 'ccnp', 'cep']) assert.ok([...rows.values()].some((row) => row[1]!.split(',').includes(short)), short);
  const mine = await c.kubectl(['api-resources']);
  assert.ok(sameOutput(mine.out, out), mine.out);

  const all = real(['get', 'all', '-n', 'demo']);
  for (const section of ['pod/frontend-', 'service/backend ', 'deployment.apps/frontend ', 'replicaset.apps/frontend-']) assert.ok(all.includes(`\n${section}`), `${section} in\n${all}`);
  const allAll = real(['get', 'all', '-A']);
  assert.match(allAll, /\nkube-system +daemonset\.apps\/cilium +4 +4 +4 +4 +4 +kubernetes\.io\/os=linux +\S+\n/);
  assert.ok(sameOutput((await c.kubectl(['get', 'all', '-A'])).out, allAll));
});

test('get of every served kind, in every output format the lab uses, prints what podpath\'s kubectl prints', { skip: REAL_KUBECTL_SKIP }, async () => {
  // Objects for the kinds the demo has none of: the lab's policy, a NetworkPolicy, a clusterwide policy.
  real(['apply', '-f', join(LAB, 'l7-visibility-policy.yaml')]);
  real(['apply', '-f', '-'], { input: NETPOL });
  real(['apply', '-f', '-'], { input: CCNP });
  try {
    await getEveryKind();
  } finally {
    real(['delete', '-f', join(LAB, 'l7-visibility-policy.yaml')]);
    real(['delete', 'netpol', '-n', 'demo', 'db-from-backend']);
    real(['delete', 'ccnp', 'allow-dns']);
  }
});

async function getEveryKind(): Promise<void> {

  const served = real(['api-resources', '--verbs=list', '-o', 'name']).trim().split('\n');
  assert.deepEqual([...served].sort(), RESOURCES.filter((r) => r.verbs.includes('list')).map(typeName).sort());

  const differences: string[] = [];
  const compare = async (args: string[], theirs: RunResult): Promise<void> => {
    const mine = await c.kubectl(args);
    if (mine.code !== theirs.code || !sameOutput(mine.out, theirs.out) || !sameOutput(mine.err, theirs.err)) {
      differences.push(`kubectl ${args.join(' ')}\n--- real (${theirs.code})\n${theirs.out}${theirs.err}\n--- podpath (${mine.code})\n${mine.out}${mine.err}`);
    }
  };

  for (const type of served) {
    const r = RESOURCES.find((x) => typeName(x) === type)!;
    const scope = r.namespaced ? ['-A'] : [];
    const table = c.real!(['get', type, ...scope]);
    assert.equal(table.code, 0, `${type}: ${table.err}`);
    await compare(['get', type, ...scope], table);
    if (!table.out) {
      // podpath records no Events yet: the one kind that can be empty here.
      assert.equal(type, 'events', `${type} has objects: ${table.err}`);
      assert.equal(table.err, 'No resources found\n');
      continue;
    }
    assert.deepEqual(header(table.out), [...(r.namespaced ? ['NAMESPACE'] : []), ...(HEADERS[type] ?? [])], `${type} columns:\n${table.out}`);
    const rowCount = table.out.trim().split('\n').length - 1;

    const names = c.real!(['get', type, ...scope, '-o', 'name']);
    assert.equal(names.out.trim().split('\n').length, rowCount, `${type} -o name`);
    assert.ok(names.out.split('\n').every((l) => l === '' || l.startsWith(`${r.group ? `${r.singular}.${r.group}` : r.singular}/`)), names.out);
    await compare(['get', type, ...scope, '-o', 'name'], names);

    const json = c.real!(['get', type, ...scope, '-o', 'json']);
    const list = JSON.parse(json.out) as { kind: string; items: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[] };
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, rowCount, `${type} -o json`);
    assert.ok(list.items.every((o) => o.kind === r.kind && o.apiVersion === (r.group ? `${r.group}/${r.version}` : r.version)), type);
    await compare(['get', type, ...scope, '-o', 'json'], json);

    const jsonpath = ['get', type, ...scope, '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}'];
    const paths = c.real!(jsonpath);
    assert.deepEqual(paths.out.trim().split('\n'), list.items.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`));
    await compare(jsonpath, paths);

    for (const format of [['-o', 'wide'], ['-o', 'yaml'], ['--show-labels'], ['-l', '!no-such-label'], ['--sort-by=.metadata.name', '-o', 'name']]) {
      const args = ['get', type, ...scope, ...format];
      const theirs = c.real!(args);
      assert.equal(theirs.code, 0, `${args.join(' ')}: ${theirs.err}`);
      await compare(args, theirs);
    }

    // One object by name, in its namespace: table, wide, yaml, json, jsonpath.
    const first = list.items[0]!;
    const ns = r.namespaced ? ['-n', first.metadata.namespace!] : [];
    for (const format of [[], ['-o', 'wide'], ['-o', 'yaml'], ['-o', 'json']]) {
      const args = ['get', type, first.metadata.name, ...ns, ...format];
      const theirs = c.real!(args);
      assert.equal(theirs.code, 0, `${args.join(' ')}: ${theirs.err}`);
      await compare(args, theirs);
    }
    assert.equal(real(['get', type, first.metadata.name, ...ns, '-o', 'jsonpath={.metadata.name}']), first.metadata.name);
  }

  // The lab's own gets, and selectors.
  const lab: string[][] = [
    ['get', 'pods', '-n', 'demo', '-o', 'wide'],
    ['get', 'pod', '-n', 'demo', '-l', 'app=frontend', '-o', 'jsonpath={.items[0].metadata.name}'],
    ['get', 'svc', '-n', 'demo', 'backend', '-o', 'jsonpath={.spec.clusterIP}'],
    ['get', 'cep', '-n', 'demo', '-l', 'app=backend', '-o', 'yaml'],
    ['get', 'pods', '-A', '-l', 'app in (backend,frontend)', '--show-labels'],
    ['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=cilium', '-o', 'wide'],
    ['get', 'pods', '-A', '--field-selector', 'status.phase=Running', '-o', 'name'],
    ['get', 'cnp,ccnp,netpol', '-A'],
  ];
  for (const args of lab) {
    const theirs = c.real!(args);
    assert.equal(theirs.code, 0, `${args.join(' ')}: ${theirs.err}`);
    await compare(args, theirs);
  }
  const frontend = real(['get', 'pod', '-n', 'demo', '-l', 'app=frontend', '-o', 'jsonpath={.items[0].metadata.name}']);
  assert.match(frontend, /^frontend-[a-z0-9]+-[a-z0-9]{5}$/);
  assert.match(real(['get', 'ciliumendpoint', '-n', 'demo', frontend, '-o', 'jsonpath={.status.id}']), /^\d+$/);
  assert.match(real(['get', 'pod', '-n', 'demo', frontend, '-o', 'jsonpath={.status.podIP}']), /^10\.244\.\d+\.\d+$/);
  assert.deepEqual(differences, []);
}

test('apply -f of the lab\'s manifests: created, unchanged, configured after an edit; delete -f; then NotFound', { skip: REAL_KUBECTL_SKIP }, () => {
  for (const [file, name] of [['l7-visibility-policy.yaml', 'l7-visibility'], ['deny-policy.yaml', 'frontend-deny-backend']] as const) {
    const path = join(LAB, file);
    assert.equal(real(['apply', '-f', path]), `ciliumnetworkpolicy.cilium.io/${name} created\n`);
    assert.equal(real(['apply', '-f', path]), `ciliumnetworkpolicy.cilium.io/${name} unchanged\n`);
    const edited = join(work, file);
    writeFileSync(edited, readFileSync(path, 'utf8').replace(/description: "([^"]*)"/, 'description: "$1, edited"'));
    assert.equal(real(['apply', '-f', edited]), `ciliumnetworkpolicy.cilium.io/${name} configured\n`);
    assert.match(real(['get', 'cnp', '-n', 'demo', name, '-o', 'jsonpath={.spec.description}']), /, edited$/);
    assert.equal(real(['apply', '-f', edited]), `ciliumnetworkpolicy.cilium.io/${name} unchanged\n`);
    assert.equal(real(['delete', '-f', edited]), `ciliumnetworkpolicy.cilium.io "${name}" deleted\n`);
    const gone = c.real!(['delete', '-f', edited]);
    assert.equal(gone.code, 1);
    assert.equal(gone.err, `Error from server (NotFound): error when deleting "${edited}": ciliumnetworkpolicies.cilium.io "${name}" not found\n`);
  }
  // Built-in kinds take a strategic merge patch: a namespace, a Deployment and a Service in one file.
  const web = join(work, 'web.yaml');
  const manifest = `apiVersion: v1
kind: Namespace
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
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
`;
  writeFileSync(web, manifest);
  assert.equal(real(['apply', '-f', web]), 'namespace/web created\ndeployment.apps/web created\nservice/web created\n');
  assert.equal(real(['apply', '-f', web]), 'namespace/web unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n');
  writeFileSync(web, manifest.replace('replicas: 2', 'replicas: 3'));
  assert.equal(real(['apply', '-f', web]), 'namespace/web unchanged\ndeployment.apps/web configured\nservice/web unchanged\n');
  assert.equal(real(['get', 'deploy', 'web', '-n', 'web', '-o', 'jsonpath={.spec.replicas}']), '3');
  assert.equal(real(['rollout', 'status', 'deploy/web', '-n', 'web', '--timeout=60s']), 'deployment "web" successfully rolled out\n');
  assert.match(real(['wait', '--for=condition=Ready', 'pod', '-l', 'app=web', '-n', 'web', '--timeout=60s']), /^(pod\/web-[a-z0-9]+-[a-z0-9]{5} condition met\n){3}$/);
  assert.match(real(['wait', '--for=condition=Available', 'deploy/web', '-n', 'web', '--timeout=60s']), /^deployment\.apps\/web condition met\n$/);
  // The namespace last: podpath empties a namespace as it deletes it, where a real cluster's namespace
  // controller does so a little later (kubectl delete -f of this file would find the rest gone).
  assert.equal(real(['delete', 'deploy,svc', '-n', 'web', 'web']), 'deployment.apps "web" deleted\nservice "web" deleted\n');
  assert.equal(real(['delete', 'ns', 'web']), 'namespace "web" deleted\n');
});

test('label: added, refused without --overwrite, overwritten, selected by, removed', { skip: REAL_KUBECTL_SKIP }, () => {
  const pod = real(['get', 'pod', '-n', 'demo', '-l', 'app=database', '-o', 'name']).trim();
  assert.match(pod, /^pod\/database-/);
  assert.equal(real(['label', '-n', 'demo', pod, 'tier=web']), `${pod} labeled\n`);
  const clash = c.real!(['label', '-n', 'demo', pod, 'tier=db']);
  assert.equal(clash.code, 1);
  assert.equal(clash.err, "error: 'tier' already has a value (web), and --overwrite is false\n");
  assert.equal(real(['label', '-n', 'demo', pod, 'tier=db', '--overwrite']), `${pod} labeled\n`);
  assert.equal(real(['get', 'pods', '-n', 'demo', '-l', 'tier=db', '-o', 'name']), `${pod}\n`);
  assert.equal(real(['get', 'pods', '-n', 'demo', '-l', 'tier=web', '-o', 'name']), '');
  assert.equal(real(['label', '-n', 'demo', pod, 'tier-']), `${pod} unlabeled\n`);
  assert.equal(real(['get', 'pods', '-n', 'demo', '-l', 'tier', '-o', 'name']), '');
});

test('label of several pods where some refuse: the others are labeled, each refusal is reported; podpath\'s kubectl agrees', { skip: REAL_KUBECTL_SKIP }, async () => {
  const [first, second] = real(['get', 'pods', '-n', 'demo', '-l', 'app=backend', '-o', 'name']).trim().split('\n');
  const clash = "'tier' already has a value (web), and --overwrite is false";
  const runs: Record<string, RunResult> = {};
  for (const [who, run] of [
    ['real', async (args: string[]) => c.real!(args)],
    ['podpath', (args: string[]) => c.kubectl(args)],
  ] as const) {
    real(['label', '-n', 'demo', first!, 'tier=web']);
    runs[`${who} one`] = await run(['label', 'pod', '-n', 'demo', '-l', 'app=backend', 'tier=db']);
    assert.equal(real(['get', 'pods', '-n', 'demo', '-l', 'tier=db', '-o', 'name']), `${second}\n`, who);
    real(['label', '-n', 'demo', second!, 'tier=web', '--overwrite']);
    runs[`${who} both`] = await run(['label', 'pod', '-n', 'demo', '-l', 'app=backend', 'tier=db']);
    real(['label', 'pod', '-n', 'demo', '-l', 'app=backend', 'tier-']);
  }
  assert.deepEqual(runs['real one'], { code: 1, out: `${second} labeled\n`, err: `error: ${clash}\n` });
  assert.deepEqual(runs['real both'], { code: 1, out: '', err: `${clash}\n${clash}\n` });
  assert.deepEqual(runs['podpath one'], runs['real one']);
  assert.deepEqual(runs['podpath both'], runs['real both']);
});

test('wait: a condition met, a missing object, a deletion', { skip: REAL_KUBECTL_SKIP }, () => {
  assert.match(real(['wait', '--for=condition=Ready', 'pod', '-l', 'app=backend', '-n', 'demo', '--timeout=30s']), /^(pod\/backend-\S+ condition met\n){2}$/);
  const missing = c.real!(['wait', '--for=condition=Ready', 'pod/nope', '-n', 'demo', '--timeout=5s']);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'Error from server (NotFound): pods "nope" not found\n');
  real(['create', 'configmap', 'doomed', '-n', 'demo', '--from-literal=a=b']);
  real(['delete', 'configmap', 'doomed', '-n', 'demo', '--wait=false']);
  const deleted = c.real!(['wait', '--for=delete', 'configmap/doomed', '-n', 'demo', '--timeout=10s']);
  assert.equal(deleted.code, 0, deleted.err);
});

test('get -w prints the rows of the objects that change after the list', { skip: REAL_KUBECTL_SKIP }, async () => {
  const watcher = c.realSpawn!(['get', 'pods', '-n', 'demo', '-l', 'app=backend', '-w']);
  let out = '';
  let err = '';
  watcher.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  watcher.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  /** Resolve once `re` matches what the watcher printed; a bounded wait for a real process. */
  const printed = (re: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kubectl get -w did not print ${re} in 30 s:\n${out}${err}`)), 30_000);
      const check = (): void => {
        if (!re.test(out)) return;
        clearTimeout(timer);
        watcher.stdout!.off('data', check);
        resolve();
      };
      watcher.stdout!.on('data', check);
      check();
    });
  try {
    await printed(/^NAME +READY +STATUS +RESTARTS +AGE\n(backend-\S+ +1\/1 +Running +0 +\S+\n){2}$/);
    const listed = out;
    // A change made after the list: a new backend pod (the Deployment scaled up) shows up in the watch.
    real(['scale', 'deploy/backend', '-n', 'demo', '--replicas=3']);
    const pods = real(['get', 'pods', '-n', 'demo', '-l', 'app=backend', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ');
    const added = pods.find((p) => !listed.includes(p));
    assert.ok(added, `a third pod among ${pods.join(', ')}`);
    await printed(new RegExp(`\\n${added} +\\d/1 +\\S+ +0 +\\S+\\n`));
    await printed(new RegExp(`\\n${added} +1/1 +Running +0 +\\S+\\n`));
    // Rows printed later line up with the header.
    const lines = out.split('\n');
    const row = lines.find((l) => l.startsWith(added!))!;
    assert.equal(row.indexOf('/1'), lines[0]!.indexOf('READY') + 1, out);
  } finally {
    watcher.kill('SIGTERM');
    real(['scale', 'deploy/backend', '-n', 'demo', '--replicas=2']);
  }
  assert.equal(err, '');
});

test('errors come back as Status objects that kubectl words as against a real cluster', { skip: REAL_KUBECTL_SKIP }, () => {
  const cases: { args: string[]; input?: string; err: string }[] = [
    { args: ['get', 'pods', '-n', 'demo', 'nope'], err: 'Error from server (NotFound): pods "nope" not found\n' },
    { args: ['get', 'ns', 'nope'], err: 'Error from server (NotFound): namespaces "nope" not found\n' },
    { args: ['get', 'nope'], err: 'error: the server doesn\'t have a resource type "nope"\n' },
    {
      args: ['apply', '-f', '-'],
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n',
      err: 'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')\n',
    },
    { args: ['create', '-f', '-'], input: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\nspec:\n  containers: []\n', err: 'The Pod "p1" is invalid: spec.containers: Required value\n' },
    { args: ['create', 'namespace', 'demo'], err: 'Error from server (AlreadyExists): namespaces "demo" already exists\n' },
    { args: ['delete', 'namespace', 'default'], err: 'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted\n' },
    {
      args: ['get', 'pods', '-A', '--field-selector', 'spec.nope=x'],
      err: 'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "spec.nope=x": field label not supported: spec.nope\n',
    },
  ];
  for (const k of cases) {
    const r = c.real!(k.args, k.input !== undefined ? { input: k.input } : {});
    assert.equal(r.code, 1, `${k.args.join(' ')}: ${r.out}${r.err}`);
    assert.equal(r.err, k.err, k.args.join(' '));
  }
  // A replace with a stale resourceVersion is a Conflict.
  real(['create', 'configmap', 'c1', '-n', 'demo', '--from-literal=a=1']);
  const stale = real(['get', 'configmap', 'c1', '-n', 'demo', '-o', 'json']);
  real(['label', 'configmap', 'c1', '-n', 'demo', 'touched=yes']);
  const conflict = c.real!(['replace', '-f', '-'], { input: stale.replace('"a": "1"', '"a": "2"') });
  assert.equal(conflict.code, 1);
  assert.equal(conflict.err, 'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "c1": the object has been modified; please apply your changes to the latest version and try again\n');
  assert.equal(real(['get', 'configmap', 'c1', '-n', 'demo', '-o', 'jsonpath={.data.a}']), '1');
  real(['delete', 'configmap', 'c1', '-n', 'demo']);
});
