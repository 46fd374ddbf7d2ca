// Wrong invocations: unknown commands, flags and resource types, missing
// arguments, bad output formats, bad selectors, missing objects. Each gets
// kubectl's message and exit code, never a stack trace; where a real kubectl
// is on PATH it is asked the same and must answer the same (its build here
// prints cobra's "Error:" where kubectl usually prints "error:").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REAL_KUBECTL_SKIP, normalizeCobra, startCluster, type TestCluster } from './harness.js';

let c: TestCluster;

before(async () => {
  c = await startCluster('kubectlwrong');
});

after(async () => {
  await c?.stop();
});

interface Wrong {
  args: string[];
  err: string | RegExp;
  code?: number;
  /** Output real kubectl cannot be compared on (and why). */
  notComparable?: string;
}

const SEE_GET = "See 'kubectl get --help' for usage.\n";
const NO_RESOURCES =
  "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\n";

const WRONG: Wrong[] = [
  { args: ['bogus'], err: 'error: unknown command "bogus" for "kubectl"\n\nDid you mean this?\n\tlogs\n\n' },
  { args: ['gett', 'pods'], err: 'error: unknown command "gett" for "kubectl"\n\nDid you mean this?\n\tset\n\tget\n\n' },
  { args: ['get', 'pods', '--bogus'], err: `error: unknown flag: --bogus\n${SEE_GET}` },
  { args: ['get', 'pods', '-z'], err: `error: unknown shorthand flag: 'z' in -z\n${SEE_GET}` },
  { args: ['get', 'pods', '-n'], err: `error: flag needs an argument: 'n' in -n\n${SEE_GET}` },
  { args: ['-n'], err: "error: flag needs an argument: 'n' in -n\nSee 'kubectl --help' for usage.\n" },
  { args: ['get', 'pods', '-A=maybe'], err: `error: invalid argument "maybe" for "-A, --all-namespaces" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n${SEE_GET}` },
  { args: ['version', '--bogus'], err: "error: unknown flag: --bogus\nSee 'kubectl version --help' for usage.\n" },
  {
    args: ['get'],
    err: 'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).\nSee \'kubectl get -h\' for help and examples\n',
  },
  { args: ['get', 'bogus'], err: 'error: the server doesn\'t have a resource type "bogus"\n' },
  { args: ['get', 'po,bogus'], err: 'error: the server doesn\'t have a resource type "bogus"\n' },
  { args: ['get', 'pods', 'nope'], err: 'Error from server (NotFound): pods "nope" not found\n' },
  { args: ['get', 'pods', '-n', 'demo', 'nope', 'gone'], err: 'Error from server (NotFound): pods "nope" not found\nError from server (NotFound): pods "gone" not found\n' },
  { args: ['get', 'deploy/nope', '-n', 'demo'], err: 'Error from server (NotFound): deployments.apps "nope" not found\n' },
  { args: ['get', 'pods/x/y'], err: 'error: arguments in resource/name form may not have more than one slash\n' },
  {
    args: ['get', 'pods/x', 'svc'],
    err: "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'\n",
  },
  {
    args: ['get', 'pods', '-o', 'bogus'],
    err: 'error: unable to match a printer suitable for the output format "bogus", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml\n',
  },
  { args: ['get', 'pods', '-o', 'jsonpath={.items[0'], err: 'error: error parsing jsonpath {.items[0, unterminated array\n' },
  { args: ['get', 'pods', '-o', 'jsonpath'], err: 'error: template format specified but no template given\n' },
  {
    args: ['get', 'pods', '-l', 'a in (b'],
    err: 'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "a in (b", field selector "": unable to parse requirement: found \'\', expected: \',\' or \')\'\n',
  },
  {
    args: ['get', 'pods', '--field-selector=spec.foo=x'],
    err: 'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "spec.foo=x": field label not supported: spec.foo\n',
  },
  { args: ['describe'], err: 'error: You must specify the type of resource to describe. Use "kubectl api-resources" for a complete list of supported resources.\n' },
  { args: ['describe', 'pods', 'nope'], err: 'Error from server (NotFound): pods "nope" not found\n' },
  { args: ['describe', 'bogus'], err: 'error: the server doesn\'t have a resource type "bogus"\n' },
  { args: ['apply'], err: 'error: must specify one of -f and -k\n' },
  { args: ['apply', '-f', '/nonexistent.yaml'], err: 'error: the path "/nonexistent.yaml" does not exist\n' },
  { args: ['apply', '-f', '-', '--validate=bogus'], err: 'error: invalid - validate option "bogus"; must be one of: strict (or true), warn, ignore (or false)\n' },
  { args: ['create'], err: 'error: must specify one of -f and -k\n' },
  { args: ['delete'], err: NO_RESOURCES },
  { args: ['delete', 'pods'], err: 'error: resource(s) were provided, but no name was specified\n' },
  { args: ['delete', 'pods', 'nope'], err: 'Error from server (NotFound): pods "nope" not found\n' },
  { args: ['delete', 'bogus', 'x'], err: 'error: the server doesn\'t have a resource type "bogus"\n' },
  { args: ['label', 'pods'], err: 'error: at least one label update is required\n' },
  { args: ['label', 'pod', 'nope', 'a=b'], err: 'Error from server (NotFound): pods "nope" not found\n' },
  {
    args: ['label', 'pods', '--all', '-n', 'demo', 'k=bad value'],
    err: "error: invalid label value: \"k=bad value\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')\n",
  },
  { args: ['annotate', 'pods'], err: 'error: at least one annotation update is required\n' },
  { args: ['exec'], err: 'error: pod, type/name or --filename must be specified\n' },
  { args: ['exec', 'nope', '--', 'ls'], err: 'Error from server (NotFound): pods "nope" not found\n' },
  { args: ['exec', '-n', 'demo', 'nope', 'ls'], err: "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\nSee 'kubectl exec -h' for help and examples\n" },
  {
    args: ['logs'],
    err: "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples\n",
  },
  { args: ['scale', 'deploy/frontend', '-n', 'demo'], err: /^E\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ run\.go:72\] "command failed" err="required flag\(s\) \\"replicas\\" not set"\n$/, notComparable: 'klog stamps the time and pid' },
  { args: ['scale', 'deploy/nope', '--replicas=1'], err: 'error: no objects passed to scale deployments.apps "nope" not found\n' },
  { args: ['rollout', 'status'], err: 'error: required resource not specified\n' },
  { args: ['rollout', 'status', 'deploy/nope'], err: 'Error from server (NotFound): deployments.apps "nope" not found\n' },
  { args: ['rollout', 'status', 'pod/x'], err: 'Error from server (NotFound): pods "x" not found\n' },
  { args: ['rollout', 'bogus'], err: "error: unknown command \"bogus\"\nSee 'kubectl rollout -h' for help and examples\n" },
  { args: ['wait'], err: 'error: unrecognized condition: ""\n' },
  { args: ['wait', '--for=condition=Ready', '-n', 'demo'], err: NO_RESOURCES },
  { args: ['wait', '--for=condition=Ready', 'pod', '-l', 'app=zzz', '-n', 'demo'], err: 'error: no matching resources found\n' },
  { args: ['wait', '--for=condition=Ready', 'pod/nope', '-n', 'demo', '--timeout=1s'], err: 'Error from server (NotFound): pods "nope" not found\n' },
  { args: ['run', 'x'], err: /^E\d{4} .* run\.go:72\] "command failed" err="required flag\(s\) \\"image\\" not set"\n$/, notComparable: 'klog stamps the time and pid' },
  { args: ['config', 'bogus'], err: "error: unknown command \"bogus\"\nSee 'kubectl config -h' for help and examples\n" },
  { args: ['edit', 'pod', 'x'], err: /^error: podpath's kubectl does not implement "kubectl edit"/, notComparable: 'real kubectl has an edit command' },
];

test('wrong invocations get kubectl\'s messages and exit codes, never a stack trace', async () => {
  assert.ok(WRONG.length >= 30);
  for (const w of WRONG) {
    const r = await c.kubectl(w.args, { input: '' });
    const label = `kubectl ${w.args.join(' ')}`;
    assert.equal(r.code, w.code ?? 1, `${label}: exit ${r.code}: ${r.err}`);
    if (typeof w.err === 'string') assert.equal(r.err, w.err, label);
    else assert.match(r.err, w.err, label);
    assert.doesNotMatch(r.err, /\n\s+at |TypeError|ReferenceError|undefined/, `${label}: no stack trace`);
  }
});

test('the same wrong invocations as a process: the same text on stderr and the same exit code', () => {
  for (const w of WRONG.slice(0, 8)) {
    const r = c.kubectlProcess(w.args);
    assert.equal(r.code, w.code ?? 1, w.args.join(' '));
    if (typeof w.err === 'string') assert.equal(r.err, w.err);
  }
});

test('real kubectl answers the wrong invocations the same way', { skip: REAL_KUBECTL_SKIP }, async () => {
  const differences: string[] = [];
  for (const w of WRONG) {
    if (w.notComparable) continue;
    const mine = await c.kubectl(w.args, { input: '' });
    const theirs = c.real!(w.args);
    if (normalizeCobra(theirs.err) !== mine.err || theirs.code !== mine.code || theirs.out !== mine.out) {
      differences.push(`kubectl ${w.args.join(' ')}\n  real (${theirs.code}): ${JSON.stringify(theirs.err)}\n  podpath (${mine.code}): ${JSON.stringify(mine.err)}`);
    }
  }
  assert.deepEqual(differences, []);
});
