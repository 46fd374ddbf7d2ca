import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufObject } from '../../src/k8s/protobuf.js';
import { startApiServer } from './harness.js';

// Bodies captured from kubectl 1.32 (`kubectl create namespace demo`, `kubectl create deployment web
// --image=nginx:1.25 --replicas=3 --port=80`, `kubectl create service clusterip web --tcp=80:8080
// --tcp=443:8443`, `kubectl create configmap cm --from-literal=a=b --from-literal=c=d`).
const KUBECTL_BODIES = {
  namespace:
    '6b3873000a0f0a02763112094e616d657370616365121c0a140a0464656d6f12001a0022002a0032003800420012001a020a001a002200',
  deployment:
    '6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bd010a1f0a0377656212001a0022002a003200380042005a0a0a036170701203776562128b010803120c0a0a0a0361707012037765621a710a1c0a0012001a0022002a003200380042005a0a0a036170701203776562125112330a056e67696e78120a6e67696e783a312e32352a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200',
  service:
    '6b3873000a0d0a0276311207536572766963651288010a1f0a0377656212001a0022002a003200380042005a0a0a03617070120377656212610a1b0a0738302d38303830120354435018502207080010903f1a0028000a1d0a083434332d38343433120354435018bb032207080010fb411a002800120a0a0361707012037765621a002209436c757374657249503a00420052005a00600068001a020a001a002200',
  configmap: '6b3873000a0f0a0276311209436f6e6669674d617012240a120a02636d12001a0022002a0032003800420012060a016112016212060a01631201641a002200',
};

const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');

test("kubectl's protobuf bodies decode to what `--dry-run=client -o json` shows", () => {
  const cases: [string, unknown][] = [
    [KUBECTL_BODIES.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' }, spec: {} }],
    [
      KUBECTL_BODIES.deployment,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }], resources: {} }] },
          },
          strategy: {},
        },
      },
    ],
    [
      KUBECTL_BODIES.service,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          ports: [
            { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 },
            { name: '443-8443', protocol: 'TCP', port: 443, targetPort: 8443 },
          ],
          selector: { app: 'web' },
          type: 'ClusterIP',
        },
      },
    ],
    [KUBECTL_BODIES.configmap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: 'b', c: 'd' } }],
  ];
  for (const [hex, want] of cases) {
    const r = decodeProtobufObject(bytes(hex));
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.obj, want);
  }
});

// A minimal encoder, enough to build bodies kubectl would not send.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const ld = (num: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from(varint((num << 3) | 2)), Buffer.from(varint(payload.length)), payload]);
const vi = (num: number, v: number): Buffer => Buffer.from([...varint(num << 3), ...varint(v)]);
const str = (num: number, text: string): Buffer => ld(num, Buffer.from(text));
const envelope = (apiVersion: string, kind: string, raw: Buffer): Buffer =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), ld(1, Buffer.concat([str(1, apiVersion), str(2, kind)])), ld(2, raw)]);

test('named target ports, empty unknown fields, and what is refused rather than guessed', () => {
  const svc = decodeProtobufObject(
    envelope('v1', 'Service', Buffer.concat([ld(1, str(1, 's')), ld(2, ld(1, Buffer.concat([vi(3, 80), ld(4, Buffer.concat([vi(1, 1), str(3, 'http')]))])))])),
  );
  assert.ok(svc.ok);
  assert.deepEqual(svc.obj['spec'], { ports: [{ port: 80, targetPort: 'http' }] });
  const zeroUnknown = decodeProtobufObject(envelope('v1', 'ConfigMap', Buffer.concat([ld(1, str(1, 'cm')), vi(9, 0), str(10, '')])));
  assert.ok(zeroUnknown.ok, 'unset fields podpath does not map are harmless');
  const unknown = decodeProtobufObject(envelope('v1', 'ConfigMap', Buffer.concat([ld(1, str(1, 'cm')), str(9, 'x')])));
  assert.ok(!unknown.ok && unknown.error === 'field 9 of ConfigMap is not understood; send JSON instead');
  const pod = decodeProtobufObject(envelope('v1', 'Pod', ld(1, str(1, 'p'))));
  assert.ok(!pod.ok && pod.error === 'protobuf bodies for Pod (v1) are not supported; send JSON');
  const notK8s = decodeProtobufObject(Buffer.from('{"kind":"Pod"}'));
  assert.ok(!notK8s.ok && /magic prefix/.test(notK8s.error));
  const truncated = decodeProtobufObject(bytes(KUBECTL_BODIES.deployment.slice(0, 120)));
  assert.ok(!truncated.ok && /truncated/.test(truncated.error));
});

test('POST with a protobuf body goes through the normal pipeline', async () => {
  const h = await startApiServer();
  try {
    const r = await h.http('POST', '/apis/apps/v1/namespaces/default/deployments', undefined, {});
    assert.equal(r.code, 400, 'an empty body is refused');
    const created = await new Promise<{ code: number; json: unknown }>((resolve, reject) => {
      void import('node:http').then(({ request }) => {
        const body = bytes(KUBECTL_BODIES.deployment);
        const req = request(
          {
            socketPath: h.socketPath,
            method: 'POST',
            path: '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict',
            headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', 'Content-Length': body.length, Accept: 'application/vnd.kubernetes.protobuf,application/json' },
            agent: false,
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ code: res.statusCode ?? 0, json: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    });
    assert.equal(created.code, 201);
    const d = created.json as { metadata: { name: string; namespace: string }; spec: { replicas: number; strategy: unknown } };
    assert.equal(d.metadata.name, 'web');
    assert.equal(d.metadata.namespace, 'default');
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  } finally {
    await h.close();
  }
});
