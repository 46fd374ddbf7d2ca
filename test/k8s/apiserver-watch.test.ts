import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { WatchStream } from '../../src/k8s/client.js';
import type { KubeObject, WatchEvent } from '../../src/k8s/types.js';
import { pod, startApiServer } from './harness.js';

async function take<T>(stream: WatchStream<T & KubeObject>, n: number): Promise<WatchEvent<T & KubeObject>[]> {
  const out: WatchEvent<T & KubeObject>[] = [];
  while (out.length < n) {
    const e = await stream.next();
    if (!e) break;
    out.push(e);
  }
  return out;
}

function summary(events: WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.type === 'ERROR' ? e.object.reason : e.object.metadata.name}`);
}

test('a watch from a resourceVersion sees ADDED, MODIFIED, DELETED in order, and nothing before it', async () => {
  const h = await startApiServer();
  try {
    assert.ok((await h.client.create(pod('old'))).ok);
    const list = await h.client.list('pods', { namespace: 'default' });
    assert.ok(list.ok);
    const from = list.obj.metadata.resourceVersion;
    const stream = h.client.watch('pods', { namespace: 'default', resourceVersion: from });
    await stream.ready;
    assert.ok((await h.client.create(pod('w'))).ok);
    assert.ok((await h.client.patch('pods', 'w', { metadata: { labels: { v: '2' } } }, { namespace: 'default' })).ok);
    assert.ok((await h.client.delete('pods', 'w', { namespace: 'default' })).ok);
    const events = await take(stream, 3);
    stream.stop();
    assert.deepEqual(summary(events), ['ADDED w', 'MODIFIED w', 'DELETED w']);
    const rvs = events.map((e) => Number((e.object as KubeObject).metadata.resourceVersion));
    assert.ok(rvs[0]! > Number(from) && rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, `increasing resourceVersions ${rvs}`);
    assert.equal(((events[1]!.object as KubeObject).metadata.labels ?? {})['v'], '2');
  } finally {
    await h.close();
  }
});

test('a watch that starts late replays the changes it missed', async () => {
  const h = await startApiServer();
  try {
    const from = String(h.store.resourceVersion);
    assert.ok((await h.client.create(pod('a'))).ok);
    assert.ok((await h.client.create(pod('b'))).ok);
    assert.ok((await h.client.delete('pods', 'a', { namespace: 'default' })).ok);
    const stream = h.client.watch('pods', { resourceVersion: from });
    assert.deepEqual(summary(await take(stream, 3)), ['ADDED a', 'ADDED b', 'DELETED a']);
    stream.stop();
  } finally {
    await h.close();
  }
});

test('without a resourceVersion a watch starts with the current objects as ADDED', async () => {
  const h = await startApiServer();
  try {
    assert.ok((await h.client.create(pod('x1'))).ok);
    assert.ok((await h.client.create(pod('x2'))).ok);
    const stream = h.client.watch('pods', { namespace: 'default' });
    await stream.ready;
    assert.ok((await h.client.create(pod('x3'))).ok);
    assert.deepEqual(summary(await take(stream, 3)), ['ADDED x1', 'ADDED x2', 'ADDED x3']);
    stream.stop();

    const withBookmark = h.client.watch('pods', { namespace: 'default', sendInitialEvents: true });
    const initial = await take(withBookmark, 4);
    withBookmark.stop();
    assert.equal(initial[3]!.type, 'BOOKMARK');
    assert.equal((initial[3]!.object as KubeObject).metadata.annotations?.['k8s.io/initial-events-end'], 'true');
  } finally {
    await h.close();
  }
});

test('selectors on a watch: objects moving in are ADDED, moving out are DELETED', async () => {
  const h = await startApiServer();
  try {
    assert.ok((await h.client.create(pod('m', { app: 'web' }))).ok);
    const stream = h.client.watch('pods', { namespace: 'default', labelSelector: 'app=web', resourceVersion: String(h.store.resourceVersion) });
    await stream.ready;
    assert.ok((await h.client.patch('pods', 'm', { metadata: { labels: { app: 'db' } } }, { namespace: 'default' })).ok);
    assert.ok((await h.client.create(pod('other', { app: 'db' }))).ok);
    assert.ok((await h.client.patch('pods', 'm', { metadata: { labels: { app: 'web' } } }, { namespace: 'default' })).ok);
    assert.ok((await h.client.patch('pods', 'm', { metadata: { labels: { app: 'web', x: 'y' } } }, { namespace: 'default' })).ok);
    assert.deepEqual(summary(await take(stream, 3)), ['DELETED m', 'ADDED m', 'MODIFIED m']);
    stream.stop();

    const onNode = h.client.watch('pods', { fieldSelector: 'spec.nodeName=node-1', resourceVersion: String(h.store.resourceVersion) });
    await onNode.ready;
    assert.ok((await h.client.create(pod('elsewhere', {}, { nodeName: 'node-2' }))).ok);
    assert.ok((await h.client.create(pod('here', {}, { nodeName: 'node-1' }))).ok);
    assert.deepEqual(summary(await take(onNode, 1)), ['ADDED here']);
    onNode.stop();
  } finally {
    await h.close();
  }
});

test('a watch from a resourceVersion older than the log is answered 410 Expired', async () => {
  const h = await startApiServer({ eventLogSize: 2 });
  try {
    for (const n of ['e1', 'e2', 'e3']) assert.ok((await h.client.create(pod(n))).ok);
    const stream = h.client.watch('pods', { resourceVersion: '1' });
    const [e] = await take(stream, 1);
    assert.equal(e?.type, 'ERROR');
    if (e?.type === 'ERROR') {
      assert.equal(e.object.code, 410);
      assert.equal(e.object.reason, 'Expired');
      assert.match(e.object.message!, /^too old resource version: 1 \(\d+\)$/);
    }
    assert.equal(await stream.next(), undefined, 'the stream ends after the error');
    const raw = await h.http('GET', '/api/v1/pods?watch=true&resourceVersion=1');
    assert.equal(raw.code, 410);
  } finally {
    await h.close();
  }
});

test('the wire format is one JSON event per line, streamed; timeoutSeconds follows the injected clock', async () => {
  const h = await startApiServer();
  try {
    assert.ok((await h.client.create(pod('line'))).ok);
    const lines = await new Promise<string[]>((resolve, reject) => {
      const req = request({ socketPath: h.socketPath, path: '/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=30', agent: false }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          // The initial ADDED arrives at once; the end comes only when virtual time passes the timeout.
          if (text.endsWith('\n')) h.clock.advance(30_000);
        });
        res.on('end', () => resolve(text.split('\n').filter(Boolean)));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(lines.length, 1);
    const event = JSON.parse(lines[0]!) as { type: string; object: KubeObject };
    assert.equal(event.type, 'ADDED');
    assert.equal(event.object.metadata.name, 'line');
  } finally {
    await h.close();
  }
});

test('closing the apiserver ends open watches', async () => {
  const h = await startApiServer();
  const stream = h.client.watch('pods', { namespace: 'default' });
  await stream.ready;
  const ended = (async () => {
    for await (const e of stream) assert.notEqual(e.type, 'ERROR');
    return true;
  })();
  await h.close();
  assert.equal(await ended, true);
});
