// Store.batch: many writes, one SQLite commit, and still one atomic change per
// write: a refused write inside a batch changes nothing, the others stay, and
// a reopened file holds exactly what was published.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Store, type StoreEvent } from '../../src/k8s/store.js';
import { lookupResource } from '../../src/k8s/resources.js';
import { StatusError } from '../../src/k8s/status.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from './harness.js';

const cms = lookupResource('configmaps')!;
const nss = lookupResource('namespaces')!;

function cm(name: string, data: Record<string, string> = { k: 'v' }): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data };
}

test('a batch commits once; a refused write inside it changes nothing and the rest stays', () => {
  const path = join(tempDir(), 'batch.db');
  const clock = new VirtualClock();
  const store = new Store({ path, clock, rng: new Rng(3) });
  store.create(nss, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const seen: StoreEvent[] = [];
  store.watch(undefined, (e) => seen.push(e));
  let refused: unknown;
  const result = store.batch(() => {
    store.create(cms, cm('a'));
    const before = store.dump();
    try {
      store.create(cms, cm('a', { other: 'x' }));
    } catch (err) {
      refused = err;
    }
    assert.equal(store.dump(), before, 'the refused write left nothing behind');
    store.update(cms, { ...store.get(cms, 'default', 'a')!, data: { k: 'v2' } });
    store.create(cms, cm('b'));
    assert.equal(seen.length, 3, 'each write is published as it happens');
    return 'done';
  });
  assert.equal(result, 'done');
  assert.ok(refused instanceof StatusError && refused.status.code === 409);
  const dump = store.dump();
  store.close();

  const reopened = new Store({ path, clock, rng: new Rng(3) });
  assert.equal(reopened.dump(), dump, 'the file holds what was published');
  assert.deepEqual(reopened.get(cms, 'default', 'a')?.['data'], { k: 'v2' });
  assert.equal(reopened.resourceVersion, 4);
  reopened.close();
});

test('a batch whose body throws still commits the writes it published', () => {
  const path = join(tempDir(), 'throw.db');
  const clock = new VirtualClock();
  const store = new Store({ path, clock, rng: new Rng(4) });
  assert.throws(
    () =>
      store.batch(() => {
        store.create(cms, cm('kept'));
        throw new Error('reconciler bug');
      }),
    /reconciler bug/,
  );
  store.create(cms, cm('after'));
  store.close();
  const reopened = new Store({ path, clock, rng: new Rng(4) });
  assert.ok(reopened.get(cms, 'default', 'kept'));
  assert.ok(reopened.get(cms, 'default', 'after'));
  reopened.close();
});
