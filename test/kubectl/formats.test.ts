// The pieces of kubectl's output that must be byte-for-byte Go's: YAML
// (go-yaml v2), JSON (encoding/json), JSONPath (client-go's dialect), the
// tabwriter, flag parsing and client-side apply's three-way patch. Expected
// texts were recorded from real kubectl v1.32.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goYaml, goYamlKeyLess } from '../../src/cli/kubectl/go-yaml.js';
import { goFloat, goJson, goSharpValue, goValue } from '../../src/cli/kubectl/go-format.js';
import { goJsonString } from '../../src/util/go-json.js';
import { JsonPathExecError, JsonPathParseError, JsonPathTemplate, jsonPathExecMessage, relaxedJsonPath } from '../../src/cli/kubectl/jsonpath.js';
import { alignTabs, TabWriter } from '../../src/cli/kubectl/tabwriter.js';
import { FlagError, parseDuration, parseFlags, type FlagSpec } from '../../src/cli/kubectl/flags.js';
import { threeWayJsonMergePatch, threeWayStrategicPatch } from '../../src/cli/kubectl/three-way.js';
import { withLastApplied } from '../../src/cli/kubectl/commands/apply.js';
import { pickPod } from '../../src/cli/kubectl/commands/pods.js';
import { sortByCompare } from '../../src/cli/kubectl/commands/get.js';

const fixtures = join(process.cwd(), 'test', 'kubectl', 'fixtures');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

test('YAML: a configmap full of strings that need quoting prints as real kubectl printed it', () => {
  const obj = JSON.parse(fixture('tricky-configmap.out.json')) as unknown;
  assert.equal(goYaml(obj), fixture('tricky-configmap.out.yaml'));
});

test('JSON: 4-space indent, sorted keys, <, > and & escaped, as kubectl -o json', () => {
  const text = fixture('tricky-configmap.out.json');
  assert.equal(goJson(JSON.parse(text), '    ') + '\n', text);
  assert.equal(goJson({ b: [], a: {}, c: [1, 'x<y'] }), '{"a":{},"b":[],"c":[1,"x\\u003cy"]}');
});

test('YAML key order is go-yaml natural order; empty collections and nested lists', () => {
  assert.ok(goYamlKeyLess('a9', 'a10'));
  assert.ok(goYamlKeyLess('kNO', 'kinf'));
  assert.equal(goYaml({ items: [], m: {}, l: [[1, 2], { b: 1, a: 'x' }], n: null, t: true, f: 1.5 }), 'f: 1.5\nitems: []\nl:\n- - 1\n  - 2\n- a: x\n  b: 1\nm: {}\n"n": null\nt: true\n');
  assert.equal(goYaml({ apiVersion: 'v1', items: [], kind: 'List', metadata: { resourceVersion: '' } }), 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n');
});

test('numbers print as Go prints them', () => {
  assert.equal(goFloat(1e6), '1e+06');
  assert.equal(goFloat(123456), '123456');
  assert.equal(goFloat(0.5), '0.5');
  assert.equal(goFloat(1.5e-7), '1.5e-07');
  assert.equal(goValue({ app: 'backend', n: 2, l: ['a', 'b'] }), 'map[app:backend l:[a b] n:2]');
  assert.equal(goSharpValue({ a: [1, 'x'], b: null }), 'map[string]interface {}{"a":[]interface {}{1, "x"}, "b":interface {}(nil)}');
});

// The services list `kubectl get svc -n demo -o jsonpath=...` sees.
const SERVICES = {
  apiVersion: 'v1',
  kind: 'List',
  metadata: { resourceVersion: '' },
  items: [
    { metadata: { name: 'backend', labels: { app: 'backend' } }, spec: { clusterIP: '10.96.162.0', ports: [{ name: 'http', port: 8080 }] } },
    { metadata: { name: 'database', labels: { app: 'database' } }, spec: { clusterIP: '10.96.236.37', ports: [{ port: 5432 }] } },
  ],
};

test('JSONPath: the templates labs use give what real kubectl gives', () => {
  const cases: [string, string][] = [
    ['{.items[0].metadata.name}', 'backend'],
    ['{.items[*].spec.ports[0].port}', '8080 5432'],
    ['{.items[0].metadata.labels}', '{"app":"backend"}'],
    ['{range .items[*]}{.metadata.name}{"\\t"}{.spec.clusterIP}{"\\n"}{end}', 'backend\t10.96.162.0\ndatabase\t10.96.236.37\n'],
    ['{.items[?(@.metadata.name=="backend")].spec.clusterIP}', '10.96.162.0'],
    ['{..port}', '8080 5432'],
    ['{.items[0].spec.ports}', '[{"name":"http","port":8080}]'],
    ['x{.kind}y', 'xListy'],
    ['{.items[-1:].metadata.name}', 'database'],
    ['{.items[0:1].metadata.name}', 'backend'],
    ["{.items[*]['metadata.name']}", 'backend database'],
    ['{range .items[*]}[{.metadata.name}]{end}', '[backend][database]'],
    ['{.items[?(@.spec.ports[0].port>6000)].metadata.name}', 'backend'],
    ['{.items[?(@.metadata.labels.app)].metadata.name}', 'backend database'],
    ['{$.kind}', 'List'],
    ['{@.kind}', 'List'],
    ['{.items.*.metadata.name}', 'backend database'],
    ['{.items[0].metadata.nope}', ''],
    ['{.items[*].metadata.name}{"\\n"}', 'backend database\n'],
    ['{range .items[*]}{range .spec.ports[*]}{.port},{end}{"\\n"}{end}', '8080,\n5432,\n'],
    ['{.items[0,1].metadata.name}', 'backend database'],
  ];
  for (const [template, expected] of cases) assert.equal(new JsonPathTemplate(template).execute(SERVICES), expected, template);
});

test('JSONPath: parse and execution errors carry kubectl\'s texts', () => {
  const parseError = (t: string): string => {
    try {
      new JsonPathTemplate(t);
    } catch (err) {
      assert.ok(err instanceof JsonPathParseError);
      return err.message;
    }
    return 'parsed';
  };
  assert.equal(parseError('{.items[0'), 'unterminated array');
  assert.equal(parseError('{.kind'), 'unclosed action');
  assert.equal(parseError('{.items[*]["metadata.name"]}'), 'invalid array index "metadata.name"');
  assert.equal(parseError('{.items[?(@.a=="b"}'), 'unterminated filter');
  const execError = (t: string): string => {
    try {
      new JsonPathTemplate(t).execute(SERVICES);
    } catch (err) {
      assert.ok(err instanceof JsonPathExecError);
      return err.message;
    }
    return 'ran';
  };
  assert.equal(execError('{.items[5].metadata.name}'), 'array index out of bounds: index 5, length 2');
  assert.equal(execError('{end}'), 'not in range, nothing to end');
  assert.equal(execError('{.metadata[0]}'), 'map[string]interface {} is not array or slice');
  const message = jsonPathExecMessage('{end}', new JsonPathExecError('not in range, nothing to end'), { kind: 'List' });
  assert.equal(
    message,
    'error executing jsonpath "{end}": Error executing template: not in range, nothing to end. Printing more information for debugging the template:\n\ttemplate was:\n\t\t{end}\n\tobject given to jsonpath engine was:\n\t\tmap[string]interface {}{"kind":"List"}\n\n\n',
  );
  assert.equal(relaxedJsonPath('.metadata.name'), '{.metadata.name}');
  assert.equal(relaxedJsonPath('{metadata.name}'), '{.metadata.name}');
});

test('tabwriter: column blocks, minimum width and widths remembered across flushes', () => {
  assert.equal(alignTabs('a\tbb\tc\nxxx\ty\tz\n\nq\tr\n', { padding: 3 }), 'a     bb   c\nxxx   y    z\n\nq   r\n');
  assert.equal(alignTabs('0\t8m\n', { padding: 3, minWidth: 6 }), '0     8m\n');
  // describe's layout: a line without tabs ends a block.
  assert.equal(alignTabs('Name:\tx\nIPs:\n  IP:\t1\nControlled By:\ty\n', { padding: 2 }), 'Name:  x\nIPs:\n  IP:           1\nControlled By:  y\n');
  const w = new TabWriter({ padding: 3, minWidth: 6, rememberWidths: true });
  assert.equal(w.format('NAME\tAGE\nlong-name-here\t1s\n'), 'NAME             AGE\nlong-name-here   1s\n');
  assert.equal(w.format('x\t2s\n'), 'x                2s\n');
});

test('flags: pflag forms and errors', () => {
  const specs: FlagSpec[] = [
    { name: 'namespace', short: 'n', type: 'string' },
    { name: 'stdin', short: 'i', type: 'bool' },
    { name: 'tty', short: 't', type: 'bool' },
    { name: 'replicas', type: 'int' },
    { name: 'filename', short: 'f', type: 'stringArray' },
  ];
  const p = parseFlags(['-it', '-ndemo', 'pod', '-f', 'a.yaml', '--filename=b.yaml', '--', 'sh', '-c', 'echo -n'], specs);
  assert.deepEqual(p.args, ['pod', 'sh', '-c', 'echo -n']);
  assert.equal(p.argsBeforeDash, 1);
  assert.equal(p.values.get('namespace'), 'demo');
  assert.equal(p.values.get('stdin'), true);
  assert.deepEqual(p.values.get('filename'), ['a.yaml', 'b.yaml']);
  assert.equal(parseFlags(['-n=kube-system'], specs).values.get('namespace'), 'kube-system');
  const error = (argv: string[]): string => {
    try {
      parseFlags(argv, specs);
    } catch (err) {
      assert.ok(err instanceof FlagError);
      return err.message;
    }
    return 'parsed';
  };
  assert.equal(error(['--bogus']), 'unknown flag: --bogus');
  assert.equal(error(['-z']), "unknown shorthand flag: 'z' in -z");
  assert.equal(error(['-n']), "flag needs an argument: 'n' in -n");
  assert.equal(error(['--namespace']), 'flag needs an argument: --namespace');
  assert.equal(error(['--replicas=x']), 'invalid argument "x" for "--replicas" flag: strconv.ParseInt: parsing "x": invalid syntax');
  assert.equal(error(['--stdin=maybe']), 'invalid argument "maybe" for "-i, --stdin" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('soon'), undefined);
});

test('client-side apply: the last-applied annotation and the three-way patch', () => {
  const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { a: '1' } };
  const modified = withLastApplied(manifest as never);
  assert.equal(
    modified.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'],
    '{"apiVersion":"v1","data":{"a":"1"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"c","namespace":"default"}}\n',
  );
  const live = { ...modified, metadata: { ...modified.metadata, uid: 'u', resourceVersion: '5' } };
  const original = JSON.parse(modified.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']!) as unknown;
  assert.deepEqual(threeWayStrategicPatch(original, modified, live, 'ConfigMap'), {});

  // A deployment whose live copy carries defaults: unchanged; then replicas change and a container goes.
  const template = (containers: object[]): object => ({ metadata: { labels: { app: 'd' } }, spec: { containers } });
  const lastApplied = { spec: { replicas: 2, template: template([{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }]) } };
  const current = { spec: { replicas: 2, template: template([{ name: 'a', image: 'x', imagePullPolicy: 'Always' }, { name: 'b', image: 'y', imagePullPolicy: 'Always' }]) } };
  assert.deepEqual(threeWayStrategicPatch(lastApplied, lastApplied, current, 'Deployment'), {});
  const next = { spec: { replicas: 3, template: template([{ name: 'a', image: 'x' }]) } };
  assert.deepEqual(threeWayStrategicPatch(lastApplied, next, current, 'Deployment'), {
    spec: { replicas: 3, template: { spec: { containers: [{ $patch: 'delete', name: 'b' }], '$setElementOrder/containers': [{ name: 'a' }] } } },
  });

  // Cilium's CRDs: a JSON merge patch, lists replaced whole, dropped fields nulled.
  const cnpLast = { spec: { endpointSelector: {}, ingress: [{ a: 1 }], description: 'x' } };
  const cnpNext = { spec: { endpointSelector: {}, ingress: [{ a: 2 }] } };
  assert.deepEqual(threeWayJsonMergePatch(cnpLast, cnpNext, { ...cnpLast, status: { ok: true } }), { spec: { description: null, ingress: [{ a: 2 }] } });
});

test('exec picks the pod kubectl picks: assigned, running, ready, ready longest, fewest restarts, oldest', () => {
  const pod = (name: string, opts: { node?: string; phase?: string; ready?: string; restarts?: number; created?: string } = {}): never =>
    ({
      metadata: { name, creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z' },
      spec: { nodeName: opts.node ?? 'n1' },
      status: {
        phase: opts.phase ?? 'Running',
        conditions: opts.ready === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: opts.ready }],
        containerStatuses: [{ restartCount: opts.restarts ?? 0 }],
      },
    }) as never;
  const t0 = '2026-01-01T00:00:00Z';
  const t1 = '2026-01-01T00:01:00Z';
  assert.equal(pickPod([pod('a', { node: '' }), pod('b', { ready: t0 })])!.metadata.name, 'b');
  assert.equal(pickPod([pod('a', { phase: 'Pending' }), pod('b')])!.metadata.name, 'b');
  assert.equal(pickPod([pod('a'), pod('b', { ready: t0 })])!.metadata.name, 'b');
  assert.equal(pickPod([pod('a', { ready: t1 }), pod('b', { ready: t0 })])!.metadata.name, 'b');
  assert.equal(pickPod([pod('a', { ready: t0, restarts: 2 }), pod('b', { ready: t0 })])!.metadata.name, 'b');
  assert.equal(pickPod([pod('a', { ready: t0, created: t1 }), pod('b', { ready: t0, created: t0 })])!.metadata.name, 'b');
  // All equal: the first in the list (the server lists by name), as Go's sort keeps it for small lists.
  assert.equal(pickPod([pod('a', { ready: t0 }), pod('b', { ready: t0 })])!.metadata.name, 'a');
});

test('--sort-by orders strings as the real kubectl did: quantities by value, anything else byte by byte', () => {
  const sorted = (xs: string[]): string[] => [...xs].sort(sortByCompare);
  // Cilium identities by .metadata.name, and configmap names, as kubectl v1.32 sorted them.
  assert.deepEqual(sorted(['11939', '6552', '50431', '15544']), ['6552', '11939', '15544', '50431']);
  assert.deepEqual(sorted(['x-aa', 'a-9', 'b1', 'a-864x', 'x-1', 'a-10', 'b01', 'a-89y']), ['a-10', 'a-864x', 'a-89y', 'a-9', 'b01', 'b1', 'x-1', 'x-aa']);
  assert.deepEqual(sorted(['1e3', '50', '6552', '7', '500m', '2Ki']), ['500m', '7', '50', '1e3', '2Ki', '6552']);
  assert.equal(sortByCompare('pod-3', 'pod-3'), 0);
});

test('JSON strings: \\b and \\f as short escapes, other controls and <>& as \\u00XX, as the real kubectl v1.32 printed a ConfigMap value', () => {
  assert.equal(goJsonString('x\by\fz\u0001<&>'), '"x\\by\\fz\\u0001\\u003c\\u0026\\u003e"');
  assert.equal(goJson({ a: 'x\by\fz\u0001<&>' }), '{"a":"x\\by\\fz\\u0001\\u003c\\u0026\\u003e"}');
});
