// Fifty-odd malformed manifests through `kubectl apply -f`: each gives
// kubectl's kind of message and exit 1, and the cluster's store is exactly as
// it was (every object of every kind, and the store's resourceVersion). Where
// real kubectl can be compared it is run on the same files against the same
// apiserver and must print the same.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RESOURCES } from '../../src/k8s/resources.js';
import { REAL_KUBECTL_SKIP, startCluster, type TestCluster } from './harness.js';
import { MALFORMED, type MalformedCase } from './malformed-cases.js';

let c: TestCluster;
let work: string;

before(async () => {
  c = await startCluster('kubectlbad');
  work = mkdtempSync(join(tmpdir(), 'podpath-malformed-'));
});

after(async () => {
  await c?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Every object of every served kind, and the store's resourceVersion. */
async function storeDump(): Promise<string> {
  const parts: string[] = [];
  for (const r of RESOURCES) {
    const type = r.group ? `${r.plural}.${r.group}` : r.plural;
    const list = await c.kubectl(['get', type, '-A', '-o', 'json']);
    assert.equal(list.code, 0, list.err);
    parts.push(list.out);
  }
  const rv = await c.kubectl(['get', 'namespaces', '-o', 'jsonpath={.metadata.resourceVersion}']);
  parts.push(`resourceVersion ${rv.out}`);
  return parts.join('\n');
}

function writeCase(index: number, m: MalformedCase): string {
  const dir = join(work, String(index));
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(m.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function argsFor(m: MalformedCase): string[] {
  return ['apply', '-f', m.target ?? Object.keys(m.files)[0]!, ...(m.args ?? [])];
}

test('at least fifty malformed manifests are covered', () => {
  assert.ok(MALFORMED.length >= 50, `${MALFORMED.length} cases`);
});

test('each malformed manifest is refused with kubectl\'s message, exit 1, and the store is unchanged', async () => {
  const before = await storeDump();
  for (const [i, m] of MALFORMED.entries()) {
    const dir = writeCase(i, m);
    const r = await c.kubectl(argsFor(m), { cwd: dir });
    assert.equal(r.code, 1, `${m.title}: exit ${r.code}\n${r.out}${r.err}`);
    assert.equal(r.out, '', `${m.title}: nothing is reported as applied`);
    if (typeof m.stderr === 'string') assert.equal(r.err, m.stderr, m.title);
    else assert.match(r.err, m.stderr, m.title);
    assert.doesNotMatch(r.err, /\n\s+at |TypeError|ReferenceError/, `${m.title}: no stack trace`);
  }
  assert.equal(await storeDump(), before, 'no malformed manifest changed the store');
});

test('the same manifests through stdin (-f -) are refused the same way', async () => {
  const single = MALFORMED.filter((m) => Object.keys(m.files).length === 1 && !m.target && !m.args);
  const before = await storeDump();
  for (const m of single) {
    const [name, text] = Object.entries(m.files)[0]!;
    const r = await c.kubectl(['apply', '-f', '-'], { input: text });
    assert.equal(r.code, 1, `${m.title}: ${r.err}`);
    const expected = typeof m.stderr === 'string' ? m.stderr.split(JSON.stringify(name)).join('"STDIN"').split(` ${name}:`).join(' STDIN:') : undefined;
    if (expected) assert.equal(r.err, expected, m.title);
  }
  assert.equal(await storeDump(), before);
});

test('real kubectl prints the same for the manifests it reads the same way', { skip: REAL_KUBECTL_SKIP }, async () => {
  const differences: string[] = [];
  for (const [i, m] of MALFORMED.entries()) {
    if (m.differsFromRealKubectl) continue;
    const dir = join(work, String(i));
    const mine = await c.kubectl(argsFor(m), { cwd: dir });
    const theirs = c.real!(argsFor(m), { cwd: dir });
    if (theirs.err !== mine.err || theirs.code !== mine.code) differences.push(`${m.title}\n  real: ${JSON.stringify(theirs.err)}\n  podpath: ${JSON.stringify(mine.err)}`);
  }
  assert.deepEqual(differences, []);
});
