import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Store, type StoreEvent } from '../../src/k8s/store.js';
import { lookupResource } from '../../src/k8s/resources.js';
import { StatusError } from '../../src/k8s/status.js';
import { parseLabelSelector, parseFieldSelector } from '../../src/k8s/selectors.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from './harness.js';

const pods = lookupResource('pods')!;
const cms = lookupResource('configmaps')!;
const deploys = lookupResource('deployments')!;
const rss = lookupResource('replicasets')!;
const nss = lookupResource('namespaces')!;

function newStore(seed = 1, path = ':memory:', eventLogSize?: number): { store: Store; clock: VirtualClock } {
  const clock = new VirtualClock();
  const store = new Store({ path, clock, rng: new Rng(seed), ...(eventLogSize ? { eventLogSize } : {}) });
  return { store, clock };
}

function cm(name: string, data: Record<string, string> = { k: 'v' }, ns = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

function statusOf(fn: () => unknown): { code: number; reason?: string; message?: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StatusError, String(err));
    return err.status;
  }
  assert.fail('expected a StatusError');
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('create fills uid, creationTimestamp, resourceVersion and generation deterministically', () => {
  const a = newStore(42).store;
  const b = newStore(42).store;
  const made = a.create(cms, cm('one'));
  assert.match(made.metadata.uid!, UUID_V4);
  assert.equal(made.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(made.metadata.resourceVersion, '1');
  assert.equal(made.metadata.generation, undefined, 'configmaps do not track generation');
  assert.equal(b.create(cms, cm('one')).metadata.uid, made.metadata.uid, 'same seed, same uid');
  const second = a.create(cms, cm('two'));
  assert.notEqual(second.metadata.uid, made.metadata.uid);
  assert.equal(second.metadata.resourceVersion, '2');
  const p = a.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: {} });
  assert.equal(p.metadata.generation, 1);
  assert.deepEqual(a.get(cms, 'default', 'one'), made);
  assert.equal(a.get(cms, 'other', 'one'), undefined);
  a.close();
  b.close();
});

test('generateName appends five characters from the Kubernetes alphabet', () => {
  const { store } = newStore(3);
  const names = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const o = store.create(cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'frontend-', namespace: 'default' } });
    assert.match(o.metadata.name!, /^frontend-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    names.add(o.metadata.name!);
  }
  assert.equal(names.size, 20);
  store.close();
});

test('update: optimistic concurrency, generation on spec change only, no-op writes nothing', () => {
  const { store } = newStore();
  const p = store.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: '' } });
  const labelled = store.update(pods, { ...p, metadata: { ...p.metadata, labels: { a: 'b' } } });
  assert.equal(labelled.metadata.generation, 1, 'metadata change keeps generation');
  assert.equal(labelled.metadata.resourceVersion, '2');
  const moved = store.update(pods, { ...labelled, spec: { nodeName: 'n1' } });
  assert.equal(moved.metadata.generation, 2);
  assert.equal(moved.metadata.uid, p.metadata.uid);
  const before = store.dump();
  const stale = statusOf(() => store.update(pods, { ...p, spec: { nodeName: 'n2' } }));
  assert.equal(stale.code, 409);
  assert.equal(stale.reason, 'Conflict');
  assert.equal(
    stale.message,
    'Operation cannot be fulfilled on pods "p": the object has been modified; please apply your changes to the latest version and try again',
  );
  assert.equal(store.dump(), before, 'a rejected write changes nothing');
  const same = store.update(pods, moved);
  assert.equal(same.metadata.resourceVersion, moved.metadata.resourceVersion, 'an identical update is not a write');
  assert.equal(store.dump(), before);
  const unconditional = store.update(pods, { ...moved, metadata: { ...moved.metadata, resourceVersion: '' }, spec: { nodeName: 'n3' } });
  assert.equal(unconditional.metadata.resourceVersion, '4');
  const missing = statusOf(() => store.update(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nope', namespace: 'default' } }));
  assert.equal(missing.code, 404);
  assert.equal(missing.message, 'pods "nope" not found');
  store.close();
});

test('create of an existing name is AlreadyExists and changes nothing', () => {
  const { store } = newStore();
  store.create(cms, cm('x'));
  const before = store.dump();
  const s = statusOf(() => store.create(cms, cm('x', { other: 'data' })));
  assert.equal(s.code, 409);
  assert.equal(s.reason, 'AlreadyExists');
  assert.equal(s.message, 'configmaps "x" already exists');
  assert.equal(store.dump(), before);
  assert.equal(store.resourceVersion, 1);
  store.close();
});

test('list by namespace, label selector, field selector and pages', () => {
  const { store } = newStore();
  for (const [ns, name, app, node] of [
    ['a', 'p1', 'web', 'n1'],
    ['a', 'p2', 'db', 'n2'],
    ['b', 'p3', 'web', 'n2'],
    ['b', 'p4', 'web', ''],
  ] as const) {
    store.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app } }, spec: { nodeName: node } });
  }
  const names = (q: Parameters<Store['list']>[1]): string[] => store.list(pods, q).items.map((o) => o.metadata.name!);
  assert.deepEqual(names({}), ['p1', 'p2', 'p3', 'p4']);
  assert.deepEqual(names({ namespace: 'b' }), ['p3', 'p4']);
  const web = parseLabelSelector('app=web');
  const onN2 = parseFieldSelector('spec.nodeName=n2');
  const unscheduled = parseFieldSelector('spec.nodeName=');
  assert.ok(web.ok && onN2.ok && unscheduled.ok);
  assert.deepEqual(names({ labelSelector: web.value }), ['p1', 'p3', 'p4']);
  assert.deepEqual(names({ fieldSelector: onN2.value }), ['p2', 'p3']);
  assert.deepEqual(names({ labelSelector: web.value, fieldSelector: onN2.value }), ['p3']);
  assert.deepEqual(names({ fieldSelector: unscheduled.value }), ['p4']);
  const page1 = store.list(pods, { limit: 3 });
  assert.deepEqual(page1.items.map((o) => o.metadata.name), ['p1', 'p2', 'p3']);
  assert.ok(page1.continue);
  const page2 = store.list(pods, { limit: 3, continue: page1.continue! });
  assert.deepEqual(page2.items.map((o) => o.metadata.name), ['p4']);
  assert.equal(page2.continue, undefined);
  assert.equal(page1.resourceVersion, '4');
  store.close();
});

test('lists come in (namespace, name) order, as the rows sort, with pages continuing across namespaces', () => {
  const { store } = newStore();
  // "kube" sorts before "kube-system" although "kube-system/x" sorts before "kube/x".
  for (const [ns, name] of [['kube-system', 'b'], ['kube', 'z'], ['kube-system', 'a'], ['kube', 'y'], ['default', 'q']] as const) {
    store.create(cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  }
  const key = (o: { metadata: { namespace?: string; name?: string } }): string => `${o.metadata.namespace}/${o.metadata.name}`;
  const order = ['default/q', 'kube/y', 'kube/z', 'kube-system/a', 'kube-system/b'];
  assert.deepEqual(store.list(cms).items.map(key), order);
  assert.deepEqual(store.snapshot(cms).map(key), order);
  const paged: string[] = [];
  let cont: string | undefined;
  do {
    const page = store.list(cms, { limit: 2, ...(cont ? { continue: cont } : {}) });
    paged.push(...page.items.map(key));
    cont = page.continue;
  } while (cont);
  assert.deepEqual(paged, order);
  // A list after a write sees it (the ordered view is rebuilt).
  store.delete(cms, 'kube', 'y');
  assert.deepEqual(store.list(cms, { namespace: 'kube' }).items.map(key), ['kube/z']);
  store.close();
});

test('watch replays changes after a resourceVersion, in order, then follows live', () => {
  const { store } = newStore();
  store.create(cms, cm('before'));
  const from = store.resourceVersion;
  store.create(cms, cm('w'));
  const seen: StoreEvent[] = [];
  const stop = store.watch(from, (e) => seen.push(e));
  assert.deepEqual(
    seen.map((e) => [e.type, e.object.metadata.name, e.resourceVersion]),
    [['ADDED', 'w', 2]],
  );
  const w = store.get(cms, 'default', 'w')!;
  store.update(cms, { ...w, data: { k: 'changed' } });
  store.delete(cms, 'default', 'w');
  stop();
  store.create(cms, cm('after-stop'));
  assert.deepEqual(
    seen.map((e) => [e.type, e.object.metadata.name, e.resourceVersion]),
    [
      ['ADDED', 'w', 2],
      ['MODIFIED', 'w', 3],
      ['DELETED', 'w', 4],
    ],
  );
  assert.equal(seen[1]!.previous?.data && (seen[1]!.previous.data as Record<string, string>)['k'], 'v');
  assert.ok(Object.isFrozen(seen[0]!.object), 'event objects are shared, so frozen');
  store.close();
});

test('a watch from before the bounded log answers 410 Expired', () => {
  const { store } = newStore(1, ':memory:', 3);
  for (let i = 0; i < 5; i++) store.create(cms, cm(`c${i}`));
  const s = statusOf(() => store.watch(1, () => undefined));
  assert.equal(s.code, 410);
  assert.equal(s.reason, 'Expired');
  assert.equal(s.message, 'too old resource version: 1 (2)');
  const seen: number[] = [];
  store.watch(2, (e) => seen.push(e.resourceVersion))();
  assert.deepEqual(seen, [3, 4, 5]);
  store.close();
});

test('finalizers hold a delete until the last one is removed', () => {
  const { store } = newStore();
  store.create(cms, { ...cm('held'), metadata: { name: 'held', namespace: 'default', finalizers: ['example.com/hold'] } });
  const marked = store.delete(cms, 'default', 'held');
  assert.equal(marked.metadata.deletionTimestamp, '2026-01-01T00:00:00Z');
  assert.ok(store.get(cms, 'default', 'held'));
  const current = store.get(cms, 'default', 'held')!;
  const gone = store.update(cms, { ...current, metadata: { ...current.metadata, finalizers: [] } });
  assert.equal(store.get(cms, 'default', 'held'), undefined);
  assert.equal(gone.metadata.name, 'held');
  store.close();
});

test('deleting an owner deletes its dependents (Background) or unlinks them (Orphan); namespaces take their contents', () => {
  const { store } = newStore();
  const owner = (o: KubeObject) => [{ apiVersion: 'apps/v1', kind: o.kind, name: o.metadata.name!, uid: o.metadata.uid!, controller: true }];
  const spec = { selector: { matchLabels: { app: 'x' } } };
  const d = store.create(deploys, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec });
  const rs = store.create(rss, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'd-1', namespace: 'default', ownerReferences: owner(d) },
    spec,
  });
  store.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'd-1-a', namespace: 'default', ownerReferences: owner(rs) }, spec: {} });
  const events: string[] = [];
  store.watch(store.resourceVersion, (e) => events.push(`${e.type} ${e.resource.plural}/${e.object.metadata.name}`));
  store.delete(deploys, 'default', 'd');
  assert.deepEqual(events, ['DELETED pods/d-1-a', 'DELETED replicasets/d-1', 'DELETED deployments/d']);

  const d2 = store.create(deploys, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd2', namespace: 'default' }, spec });
  store.create(rss, { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'd2-1', namespace: 'default', ownerReferences: owner(d2) }, spec });
  store.delete(deploys, 'default', 'd2', { propagationPolicy: 'Orphan' });
  assert.equal(store.get(rss, 'default', 'd2-1')?.metadata.ownerReferences, undefined);

  store.create(nss, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
  store.create(cms, cm('inside', {}, 'tmp'));
  store.delete(nss, undefined, 'tmp');
  assert.equal(store.get(cms, 'tmp', 'inside'), undefined);
  assert.equal(store.get(nss, undefined, 'tmp'), undefined);

  const pre = statusOf(() => store.delete(rss, 'default', 'd2-1', { preconditions: { uid: 'not-it' } }));
  assert.equal(pre.code, 409);
  assert.match(pre.message!, /Precondition failed: UID in precondition: not-it, UID in object meta: /);
  store.close();
});

test('dry-run writes return the result but store nothing', () => {
  const { store } = newStore();
  const before = store.dump();
  const preview = store.create(cms, cm('dry'), { dryRun: true });
  assert.equal(preview.metadata.name, 'dry');
  assert.equal(preview.metadata.resourceVersion, undefined);
  assert.equal(store.get(cms, 'default', 'dry'), undefined);
  assert.equal(store.dump(), before);
  store.close();
});

test('restart: objects, the resourceVersion counter and the uid stream continue from the file', () => {
  const dir = tempDir();
  const path = join(dir, 'state.db');
  try {
    const first = newStore(9, path).store;
    first.create(cms, cm('a'));
    const b = first.create(cms, cm('b'));
    first.update(cms, { ...b, data: { k: 'v2' } });
    const uids = new Set(first.list(cms).items.map((o) => o.metadata.uid));
    first.close();

    const second = newStore(9, path).store;
    assert.equal(second.resourceVersion, 3);
    assert.deepEqual(
      second.list(cms).items.map((o) => [o.metadata.name, o.metadata.resourceVersion, (o.data as Record<string, string>)['k']]),
      [
        ['a', '1', 'v'],
        ['b', '3', 'v2'],
      ],
    );
    const c = second.create(cms, cm('c'));
    assert.equal(c.metadata.resourceVersion, '4');
    assert.ok(!uids.has(c.metadata.uid), 'the same seed after a restart does not repeat a uid');
    const s = statusOf(() => second.watch(1, () => undefined));
    assert.equal(s.code, 410, 'history from before the restart is gone');
    second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a listener that writes does not reorder what other listeners see', () => {
  const { store } = newStore();
  const seenBySecond: number[] = [];
  // First subscriber: a "controller" that answers every new ConfigMap with another one.
  store.watch(undefined, (e) => {
    if (e.type === 'ADDED' && !e.object.metadata.name!.endsWith('-copy')) store.create(cms, cm(`${e.object.metadata.name}-copy`));
  });
  store.watch(undefined, (e) => seenBySecond.push(e.resourceVersion));
  store.create(cms, cm('a'));
  store.create(cms, cm('b'));
  assert.deepEqual(seenBySecond, [1, 2, 3, 4]);
  // A watch started from inside a listener replays only what it asked for, once.
  const late: number[] = [];
  store.watch(undefined, (e) => {
    if (e.resourceVersion === 5) store.watch(2, (x) => late.push(x.resourceVersion));
  });
  store.create(cms, cm('c'));
  assert.deepEqual(late, [3, 4, 5, 6]);
  store.close();
});
