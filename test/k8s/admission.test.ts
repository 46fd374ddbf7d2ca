import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AdmissionHook } from '../../src/k8s/apiserver.js';
import { LocalKubeClient } from '../../src/k8s/client.js';
import { fieldInvalid, fieldRequired, type FieldError } from '../../src/k8s/validation/field.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { pod, startApiServer, tempDir } from './harness.js';

const cnp = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name },
  spec,
});

/** A stand-in for the policy engine: checks toPorts port numbers with field paths. */
const policyCheck: AdmissionHook = (op, obj) => {
  if (op === 'DELETE' || obj.kind !== 'CiliumNetworkPolicy') return;
  const errors: FieldError[] = [];
  const spec = obj['spec'] as { endpointSelector?: unknown; ingress?: { toPorts?: { ports?: { port?: string }[] }[] }[] };
  if (spec.endpointSelector === undefined) errors.push(fieldRequired('spec.endpointSelector'));
  (spec.ingress ?? []).forEach((rule, i) =>
    (rule.toPorts ?? []).forEach((tp, j) =>
      (tp.ports ?? []).forEach((p, k) => {
        const n = Number(p.port);
        if (!Number.isInteger(n) || n < 0 || n > 65535) {
          errors.push(fieldInvalid(`spec.ingress[${i}].toPorts[${j}].ports[${k}].port`, p.port, 'must be a port number between 0 and 65535'));
        }
      }),
    ),
  );
  return errors;
};

test('an admission hook rejects with field paths, rendered as 422 Invalid; nothing is stored', async () => {
  const h = await startApiServer();
  try {
    h.api.addAdmission(policyCheck);
    const before = h.store.dump();
    const r = await h.client.create(cnp('bad', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '99999' }] }] }] }));
    assert.ok(!r.ok);
    assert.equal(r.status.code, 422);
    assert.equal(
      r.status.message,
      'CiliumNetworkPolicy.cilium.io "bad" is invalid: spec.ingress[0].toPorts[0].ports[0].port: Invalid value: "99999": must be a port number between 0 and 65535',
    );
    assert.deepEqual(r.status.details?.causes, [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "99999": must be a port number between 0 and 65535',
        field: 'spec.ingress[0].toPorts[0].ports[0].port',
      },
    ]);
    assert.equal(h.store.dump(), before);
    const good = await h.client.create(cnp('good', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80' }] }] }] }));
    assert.ok(good.ok);
    const badUpdate = await h.client.patch('cnp', 'good', { spec: { endpointSelector: null } }, { namespace: 'default' });
    assert.ok(!badUpdate.ok && badUpdate.status.message === 'CiliumNetworkPolicy.cilium.io "good" is invalid: spec.endpointSelector: Required value');
  } finally {
    await h.close();
  }
});

test('hooks see the operation and the old object, may fill defaults, and can veto deletes', async () => {
  const h = await startApiServer();
  try {
    const seen: string[] = [];
    h.api.addAdmission((op, obj, old, info) => {
      seen.push(`${op} ${info.resource.plural}/${obj.metadata.name} old=${old?.metadata.resourceVersion ?? '-'}${info.subresource ? ` sub=${info.subresource}` : ''}`);
      if (op === 'CREATE' && obj.kind === 'Pod') obj.metadata.annotations = { ...obj.metadata.annotations, 'podpath.io/admitted': 'yes' };
      if (op === 'DELETE' && obj.metadata.labels?.['protected'] === 'true') return [fieldInvalid('metadata.labels[protected]', 'true', 'protected objects cannot be deleted')];
      return undefined;
    });
    const created = await h.client.create(pod('guarded', { protected: 'true' }));
    assert.ok(created.ok);
    assert.equal(created.obj.metadata.annotations?.['podpath.io/admitted'], 'yes');
    const rv = created.obj.metadata.resourceVersion;
    assert.ok((await h.client.updateStatus({ ...created.obj, status: { phase: 'Running' } })).ok);
    const veto = await h.client.delete('pods', 'guarded', { namespace: 'default' });
    assert.ok(!veto.ok);
    assert.equal(veto.status.code, 403);
    assert.equal(
      veto.status.message,
      'pods "guarded" is forbidden: metadata.labels[protected]: Invalid value: "true": protected objects cannot be deleted',
    );
    assert.deepEqual(seen, [`CREATE pods/guarded old=-`, `UPDATE pods/guarded old=${rv} sub=status`, `DELETE pods/guarded old=-`]);
  } finally {
    await h.close();
  }
});

test('the in-process client runs the same pipeline as HTTP', async () => {
  const h = await startApiServer();
  try {
    const local = new LocalKubeClient(h.api);
    const made = await local.create(pod('local'));
    assert.ok(made.ok);
    const viaHttp = await h.client.get('pods', 'local', { namespace: 'default' });
    assert.ok(viaHttp.ok);
    assert.deepEqual(viaHttp.obj, made.obj);
    const invalid = await local.create(pod('Bad_Name'));
    assert.ok(!invalid.ok && invalid.status.code === 422);
    const watch = local.watch('pods', { namespace: 'default', resourceVersion: made.obj.metadata.resourceVersion! });
    assert.ok((await h.client.delete('pods', 'local', { namespace: 'default' })).ok);
    const e = await watch.next();
    assert.equal(e?.type, 'DELETED');
    watch.stop();
    assert.equal(await watch.next(), undefined);
    const unknown = await local.get('frobnicators', 'x');
    assert.ok(!unknown.ok && unknown.status.message === 'the server doesn\'t have a resource type "frobnicators"');
  } finally {
    await h.close();
  }
});

test('restart: a new apiserver on the same database file continues objects and resourceVersions', async () => {
  const dir = tempDir();
  const dbPath = join(dir, 'cluster.db');
  try {
    const first = await startApiServer({ dbPath, dir });
    assert.ok((await first.client.create(pod('survivor'))).ok);
    const rvBefore = first.store.resourceVersion;
    const namespacesBefore = first.store.counts()['/namespaces'];
    await first.close();

    const second = await startApiServer({ dbPath, dir });
    try {
      const got = await second.client.get('pods', 'survivor', { namespace: 'default' });
      assert.ok(got.ok);
      assert.equal(second.store.resourceVersion, rvBefore, 'bootstrap did not write again');
      assert.equal(second.store.counts()['/namespaces'], namespacesBefore);
      const next = await second.client.create(pod('newcomer'));
      assert.ok(next.ok);
      assert.equal(next.obj.metadata.resourceVersion, String(rvBefore + 1));
      assert.notEqual(next.obj.metadata.uid, got.obj.metadata.uid);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listen refuses a socket directory that others can enter, and a socket in use', async () => {
  const h = await startApiServer();
  try {
    await assert.rejects(h.api.listen(h.socketPath), /in use by a running server/);
    await assert.rejects(h.api.listen('/tmp/podpath-shared.sock'), /open to other users/);
  } finally {
    await h.close();
  }
});
