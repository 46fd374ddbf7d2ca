// Decoding of the Kubernetes protobuf wire format for request bodies. Real
// kubectl sends protobuf (not JSON) from its typed clients, which is what the
// `kubectl create namespace|deployment|service|configmap|serviceaccount`
// generators use. Only those kinds, and only the fields such objects carry,
// are mapped here; a non-empty field podpath does not know is refused rather
// than dropped, so nothing is silently lost. Field numbers are Kubernetes'
// (k8s.io/api generated.proto), which never change once published.

import { isPlainObject, type JsonObject } from './json.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

export type ProtobufResult = { ok: true; obj: JsonObject } | { ok: false; error: string };

type Scalar = 'string' | 'int' | 'bool' | 'bytes';
type Special = 'intOrString' | 'quantity' | 'time' | 'stringMap' | 'bytesMap' | 'quantityMap' | 'ignore';

interface Field {
  name: string;
  type: Scalar | Special | 'message';
  message?: () => Message;
  repeated?: boolean;
  /** A pointer field in Go: a zero value was set on purpose and is kept. Other zero values mean "unset". */
  keepZero?: boolean;
}

interface Message {
  name: string;
  fields: Record<number, Field>;
}

class ProtobufError extends Error {}

// ---- wire format ------------------------------------------------------------------

interface WireField {
  num: number;
  wire: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new ProtobufError('truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw new ProtobufError('varint too long');
  }
}

function* wireFields(buf: Buffer): Generator<WireField> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, next] = readVarint(buf, pos);
    pos = next;
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, after] = readVarint(buf, pos);
      pos = after;
      yield { num, wire, varint: v };
    } else if (wire === 2) {
      const [len, after] = readVarint(buf, pos);
      const end = after + Number(len);
      if (end > buf.length) throw new ProtobufError('truncated field');
      yield { num, wire, bytes: buf.subarray(after, end) };
      pos = end;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      yield { num, wire, bytes: buf.subarray(pos, pos + size) };
      pos += size;
    } else {
      throw new ProtobufError(`unsupported wire type ${wire}`);
    }
  }
}

function isEmptyWire(f: WireField): boolean {
  return f.wire === 0 ? f.varint === 0n : (f.bytes?.length ?? 0) === 0;
}

// ---- typed decoding ------------------------------------------------------------------

function needBytes(f: WireField, where: string): Buffer {
  if (f.wire !== 2 || !f.bytes) throw new ProtobufError(`${where}: expected a length-delimited value`);
  return f.bytes;
}

function needVarint(f: WireField, where: string): bigint {
  if (f.wire !== 0 || f.varint === undefined) throw new ProtobufError(`${where}: expected a varint`);
  return f.varint;
}

function mapEntry(buf: Buffer, where: string): [string, Buffer] {
  let k = '';
  let v: Buffer = Buffer.alloc(0);
  for (const f of wireFields(buf)) {
    if (f.num === 1) k = needBytes(f, where).toString('utf8');
    else if (f.num === 2) v = needBytes(f, where);
  }
  return [k, v];
}

const QUANTITY: Message = { name: 'Quantity', fields: { 1: { name: 'string', type: 'string' } } };

function decodeValue(field: Field, f: WireField, where: string): unknown {
  switch (field.type) {
    case 'string':
      return needBytes(f, where).toString('utf8');
    case 'bytes':
      return needBytes(f, where).toString('base64');
    case 'int':
      return Number(BigInt.asIntN(64, needVarint(f, where)));
    case 'bool':
      return needVarint(f, where) !== 0n;
    case 'message':
      return decodeMessage(needBytes(f, where), field.message!());
    case 'intOrString': {
      let type = 0;
      let intVal = 0;
      let strVal = '';
      for (const g of wireFields(needBytes(f, where))) {
        if (g.num === 1) type = Number(needVarint(g, where));
        else if (g.num === 2) intVal = Number(BigInt.asIntN(32, needVarint(g, where)));
        else if (g.num === 3) strVal = needBytes(g, where).toString('utf8');
      }
      return type === 1 ? strVal : intVal;
    }
    case 'quantity':
      return decodeMessage(needBytes(f, where), QUANTITY)['string'] ?? '0';
    case 'time': {
      let seconds = 0;
      for (const g of wireFields(needBytes(f, where))) if (g.num === 1) seconds = Number(BigInt.asIntN(64, needVarint(g, where)));
      return seconds === 0 ? undefined : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    default:
      throw new ProtobufError(`${where}: unexpected field type ${field.type}`);
  }
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false || v === undefined;
}

function decodeMessage(buf: Buffer, spec: Message): JsonObject {
  const out: JsonObject = {};
  for (const f of wireFields(buf)) {
    const field = spec.fields[f.num];
    const where = `${spec.name}.${field?.name ?? f.num}`;
    if (!field) {
      // Go's encoder writes unset value fields as zeros; only a field with content is a problem.
      if (isEmptyWire(f)) continue;
      throw new ProtobufError(`field ${f.num} of ${spec.name} is not understood`);
    }
    if (field.type === 'ignore') continue;
    if (field.type === 'stringMap' || field.type === 'bytesMap' || field.type === 'quantityMap') {
      const map = (isPlainObject(out[field.name]) ? out[field.name] : (out[field.name] = {})) as JsonObject;
      const [k, v] = mapEntry(needBytes(f, where), where);
      map[k] =
        field.type === 'stringMap'
          ? v.toString('utf8')
          : field.type === 'bytesMap'
            ? v.toString('base64')
            : (decodeMessage(v, QUANTITY)['string'] ?? '0');
      continue;
    }
    const value = decodeValue(field, f, where);
    if (field.repeated) {
      const list = (Array.isArray(out[field.name]) ? out[field.name] : (out[field.name] = [])) as unknown[];
      list.push(value);
    } else if (!isZero(value) || (field.keepZero && value !== undefined)) {
      out[field.name] = value;
    }
  }
  return out;
}

// ---- the messages ---------------------------------------------------------------------

const s = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: 'string', ...extra });
const i = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: 'int', ...extra });
const b = (name: string, extra: Partial<Field> = {}): Field => ({ name, type: 'bool', ...extra });
const m = (name: string, message: () => Message, extra: Partial<Field> = {}): Field => ({ name, type: 'message', message, ...extra });
const ignored = (name: string): Field => ({ name, type: 'ignore' });

const OBJECT_META: Message = {
  name: 'ObjectMeta',
  fields: {
    1: s('name'),
    2: s('generateName'),
    3: s('namespace'),
    4: s('selfLink'),
    5: s('uid'),
    6: s('resourceVersion'),
    7: i('generation'),
    8: { name: 'creationTimestamp', type: 'time' },
    9: { name: 'deletionTimestamp', type: 'time' },
    10: i('deletionGracePeriodSeconds', { keepZero: true }),
    11: { name: 'labels', type: 'stringMap' },
    12: { name: 'annotations', type: 'stringMap' },
    14: s('finalizers', { repeated: true }),
  },
};

const LABEL_SELECTOR: Message = {
  name: 'LabelSelector',
  fields: {
    1: { name: 'matchLabels', type: 'stringMap' },
    2: m('matchExpressions', () => ({ name: 'LabelSelectorRequirement', fields: { 1: s('key'), 2: s('operator'), 3: s('values', { repeated: true }) } }), {
      repeated: true,
    }),
  },
};

const CONTAINER_PORT: Message = {
  name: 'ContainerPort',
  fields: { 1: s('name'), 2: i('hostPort'), 3: i('containerPort'), 4: s('protocol'), 5: s('hostIP') },
};

const ENV_VAR: Message = { name: 'EnvVar', fields: { 1: s('name'), 2: s('value') } };

const RESOURCES: Message = {
  name: 'ResourceRequirements',
  fields: { 1: { name: 'limits', type: 'quantityMap' }, 2: { name: 'requests', type: 'quantityMap' } },
};

const CONTAINER: Message = {
  name: 'Container',
  fields: {
    1: s('name'),
    2: s('image'),
    3: s('command', { repeated: true }),
    4: s('args', { repeated: true }),
    5: s('workingDir'),
    6: m('ports', () => CONTAINER_PORT, { repeated: true }),
    7: m('env', () => ENV_VAR, { repeated: true }),
    8: m('resources', () => RESOURCES),
    13: s('terminationMessagePath'),
    14: s('imagePullPolicy'),
    16: b('stdin'),
    17: b('stdinOnce'),
    18: b('tty'),
    20: s('terminationMessagePolicy'),
  },
};

const POD_SPEC: Message = {
  name: 'PodSpec',
  fields: {
    2: m('containers', () => CONTAINER, { repeated: true }),
    3: s('restartPolicy'),
    4: i('terminationGracePeriodSeconds', { keepZero: true }),
    5: i('activeDeadlineSeconds', { keepZero: true }),
    6: s('dnsPolicy'),
    7: { name: 'nodeSelector', type: 'stringMap' },
    8: s('serviceAccountName'),
    9: s('serviceAccount'),
    10: s('nodeName'),
    11: b('hostNetwork'),
    12: b('hostPID'),
    13: b('hostIPC'),
    16: s('hostname'),
    17: s('subdomain'),
    19: s('schedulerName'),
    20: m('initContainers', () => CONTAINER, { repeated: true }),
    21: b('automountServiceAccountToken', { keepZero: true }),
    24: s('priorityClassName'),
    30: b('enableServiceLinks', { keepZero: true }),
    31: s('preemptionPolicy'),
  },
};

const POD_TEMPLATE: Message = { name: 'PodTemplateSpec', fields: { 1: m('metadata', () => OBJECT_META), 2: m('spec', () => POD_SPEC) } };

const DEPLOYMENT: Message = {
  name: 'Deployment',
  fields: {
    1: m('metadata', () => OBJECT_META),
    2: m('spec', () => ({
      name: 'DeploymentSpec',
      fields: {
        1: i('replicas', { keepZero: true }),
        2: m('selector', () => LABEL_SELECTOR),
        3: m('template', () => POD_TEMPLATE),
        4: m('strategy', () => ({
          name: 'DeploymentStrategy',
          fields: {
            1: s('type'),
            2: m('rollingUpdate', () => ({
              name: 'RollingUpdateDeployment',
              fields: { 1: { name: 'maxUnavailable', type: 'intOrString' }, 2: { name: 'maxSurge', type: 'intOrString' } },
            })),
          },
        })),
        5: i('minReadySeconds'),
        6: i('revisionHistoryLimit', { keepZero: true }),
        7: b('paused'),
        9: i('progressDeadlineSeconds', { keepZero: true }),
      },
    })),
    3: ignored('status'),
  },
};

const SERVICE: Message = {
  name: 'Service',
  fields: {
    1: m('metadata', () => OBJECT_META),
    2: m('spec', () => ({
      name: 'ServiceSpec',
      fields: {
        1: m('ports', () => ({
          name: 'ServicePort',
          fields: { 1: s('name'), 2: s('protocol'), 3: i('port'), 4: { name: 'targetPort', type: 'intOrString' }, 5: i('nodePort'), 6: s('appProtocol') },
        }), { repeated: true }),
        2: { name: 'selector', type: 'stringMap' },
        3: s('clusterIP'),
        4: s('type'),
        5: s('externalIPs', { repeated: true }),
        7: s('sessionAffinity'),
        8: s('loadBalancerIP'),
        9: s('loadBalancerSourceRanges', { repeated: true }),
        10: s('externalName'),
        11: s('externalTrafficPolicy'),
        12: i('healthCheckNodePort'),
        13: b('publishNotReadyAddresses'),
        17: s('ipFamilyPolicy'),
        18: s('clusterIPs', { repeated: true }),
        19: s('ipFamilies', { repeated: true }),
        20: b('allocateLoadBalancerNodePorts', { keepZero: true }),
        21: s('loadBalancerClass'),
        22: s('internalTrafficPolicy'),
      },
    })),
    3: ignored('status'),
  },
};

const NAMESPACE: Message = {
  name: 'Namespace',
  fields: {
    1: m('metadata', () => OBJECT_META),
    2: m('spec', () => ({ name: 'NamespaceSpec', fields: { 1: s('finalizers', { repeated: true }) } })),
    3: ignored('status'),
  },
};

const CONFIG_MAP: Message = {
  name: 'ConfigMap',
  fields: {
    1: m('metadata', () => OBJECT_META),
    2: { name: 'data', type: 'stringMap' },
    3: { name: 'binaryData', type: 'bytesMap' },
    4: b('immutable', { keepZero: true }),
  },
};

const SERVICE_ACCOUNT: Message = {
  name: 'ServiceAccount',
  fields: {
    1: m('metadata', () => OBJECT_META),
    3: m('imagePullSecrets', () => ({ name: 'LocalObjectReference', fields: { 1: s('name') } }), { repeated: true }),
    4: b('automountServiceAccountToken', { keepZero: true }),
  },
};

const KINDS: Record<string, Message> = {
  'v1/Namespace': NAMESPACE,
  'v1/Service': SERVICE,
  'v1/ConfigMap': CONFIG_MAP,
  'v1/ServiceAccount': SERVICE_ACCOUNT,
  'apps/v1/Deployment': DEPLOYMENT,
};

/**
 * Decode a `application/vnd.kubernetes.protobuf` body (the "k8s\0" magic and
 * a runtime.Unknown envelope around the object) into the JSON form the rest
 * of the apiserver handles.
 */
export function decodeProtobufObject(body: Buffer): ProtobufResult {
  try {
    if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
      return { ok: false, error: 'the body is not a Kubernetes protobuf message (missing the k8s magic prefix)' };
    }
    let apiVersion = '';
    let kind = '';
    let raw: Buffer | undefined;
    for (const f of wireFields(body.subarray(MAGIC.length))) {
      if (f.num === 1) {
        for (const g of wireFields(needBytes(f, 'Unknown.typeMeta'))) {
          if (g.num === 1) apiVersion = needBytes(g, 'TypeMeta.apiVersion').toString('utf8');
          else if (g.num === 2) kind = needBytes(g, 'TypeMeta.kind').toString('utf8');
        }
      } else if (f.num === 2) {
        raw = needBytes(f, 'Unknown.raw');
      } else if (f.num === 3 && !isEmptyWire(f)) {
        return { ok: false, error: 'compressed protobuf bodies are not supported' };
      }
    }
    const spec = KINDS[`${apiVersion}/${kind}`];
    if (!spec) return { ok: false, error: `protobuf bodies for ${kind || 'this kind'} (${apiVersion}) are not supported; send JSON` };
    return { ok: true, obj: { apiVersion, kind, ...decodeMessage(raw ?? Buffer.alloc(0), spec) } };
  } catch (err) {
    if (err instanceof ProtobufError) return { ok: false, error: `${err.message}; send JSON instead` };
    throw err;
  }
}
