import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../src/k8s/patch.js';

test('merge patch follows RFC 7386 (its appendix examples)', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) assert.deepEqual(mergePatch(target, patch), want, JSON.stringify(patch));
});

test('merge patch does not modify its inputs', () => {
  const target = { a: { b: 1 } };
  const patch = { a: { c: 2 } };
  mergePatch(target, patch);
  assert.deepEqual(target, { a: { b: 1 } });
  assert.deepEqual(patch, { a: { c: 2 } });
});

test('JSON patch applies RFC 6902 operations', () => {
  const doc = { foo: 'bar', list: [1, 2, 3], nested: { 'a/b': 1, 'm~n': 2 } };
  const ok = (patch: unknown, want: unknown): void => {
    const r = jsonPatch(doc, patch);
    assert.ok(r.ok, JSON.stringify(patch) + (r.ok ? '' : r.error));
    assert.deepEqual(r.value, want, JSON.stringify(patch));
  };
  ok([{ op: 'add', path: '/baz', value: 'qux' }], { ...doc, baz: 'qux' });
  ok([{ op: 'add', path: '/list/1', value: 9 }], { ...doc, list: [1, 9, 2, 3] });
  ok([{ op: 'add', path: '/list/-', value: 4 }], { ...doc, list: [1, 2, 3, 4] });
  ok([{ op: 'remove', path: '/list/0' }], { ...doc, list: [2, 3] });
  ok([{ op: 'replace', path: '/foo', value: 'x' }], { ...doc, foo: 'x' });
  ok([{ op: 'replace', path: '/list/2', value: 0 }], { ...doc, list: [1, 2, 0] });
  ok([{ op: 'move', path: '/moved', from: '/foo' }], { list: [1, 2, 3], nested: doc.nested, moved: 'bar' });
  ok([{ op: 'copy', path: '/copy', from: '/list' }], { ...doc, copy: [1, 2, 3] });
  ok([{ op: 'test', path: '/nested/a~1b', value: 1 }, { op: 'remove', path: '/nested/m~0n' }], { ...doc, nested: { 'a/b': 1 } });
  assert.deepEqual(doc.list, [1, 2, 3], 'input untouched');
});

test('JSON patch failures are data, not exceptions', () => {
  const doc = { foo: 'bar', list: [1] };
  const bad: [unknown, RegExp][] = [
    [[{ op: 'test', path: '/foo', value: 'baz' }], /testing value \/foo failed/],
    [[{ op: 'remove', path: '/nope' }], /nonexistent|does not exist/],
    [[{ op: 'replace', path: '/nope', value: 1 }], /does not exist/],
    [[{ op: 'add', path: '/a/b', value: 1 }], /does not exist/],
    [[{ op: 'add', path: '/list/5', value: 1 }], /out of bounds/],
    [[{ op: 'jump', path: '/foo' }], /Unexpected kind: jump/],
    [{ op: 'add' }, /must be an array/],
    [[{ op: 'add', path: 'foo', value: 1 }], /must start with/],
  ];
  for (const [patch, re] of bad) {
    const r = jsonPatch(doc, patch);
    assert.equal(r.ok, false, JSON.stringify(patch));
    if (!r.ok) assert.match(r.error, re);
  }
});

test('strategic merge patch merges containers by name, ports by key, and honours directives', () => {
  const deploy = {
    metadata: { name: 'web', finalizers: ['a'] },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'app', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }] },
            { name: 'sidecar', image: 'envoy:1' },
          ],
        },
      },
    },
  };
  const patch = {
    metadata: { finalizers: ['b'] },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }],
          containers: [
            { name: 'app', image: 'nginx:1.26', env: [{ name: 'B', value: '2' }] },
            { name: 'sidecar', $patch: 'delete' },
            { name: 'new', image: 'busybox' },
          ],
        },
      },
    },
  };
  const r = strategicMergePatch(deploy, patch, 'Deployment');
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    metadata: { name: 'web', finalizers: ['a', 'b'] },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              image: 'nginx:1.26',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'new', image: 'busybox' },
          ],
        },
      },
    },
  });

  const svc = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
  const named = strategicMergePatch(svc, { spec: { ports: [{ port: 80, name: 'http' }] } }, 'Service');
  assert.ok(named.ok);
  assert.deepEqual(named.value, { spec: { ports: [{ port: 80, targetPort: 8080, name: 'http' }, { port: 443 }] } });

  const replaced = strategicMergePatch(svc, { spec: { ports: [{ $patch: 'replace' }, { port: 53 }] } }, 'Service');
  assert.ok(replaced.ok);
  assert.deepEqual(replaced.value, { spec: { ports: [{ port: 53 }] } });

  const tolerations = strategicMergePatch({ spec: { tolerations: [{ key: 'a' }] } }, { spec: { tolerations: [{ key: 'b' }] } }, 'Pod');
  assert.ok(tolerations.ok);
  assert.deepEqual(tolerations.value, { spec: { tolerations: [{ key: 'b' }] } }, 'lists without a strategy are replaced');

  const missingKey = strategicMergePatch(deploy, { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 'Deployment');
  assert.ok(!missingKey.ok && /does not contain declared merge key: name/.test(missingKey.error));
});
