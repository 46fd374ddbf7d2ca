// Hubble's Observer API over gRPC, checked with clients built from Hubble's
// upstream .proto files (../shared/upstream, loaded with @grpc/proto-loader):
// the clients decode podpath's flows into exactly what `hubble observe -o json`
// prints for the same flows; GetFlows' filters and selectors give what the
// CLI flags give; follow streams; ServerStatus, GetNodes, GetNamespaces and
// the health check answer; the unix socket is 0600 and the loopback port
// refuses clients without a certificate the cluster's CA signed.
//
// The upstream copy of flow.proto predates some Flow fields podpath prints
// (emitter, node_labels, trace_reason, file, the *_allowed_by/*_denied_by
// policies, ...). A second client adds those, with the numbers of Hubble's
// public API, to the upstream definitions (never changing what the files
// declare), so every field podpath sets is compared on the wire.
//
// Where the upstream files are absent, the wire comparison is skipped (with
// that reason) and the other tests run with a client built from podpath's own
// definitions (src/hubble/grpc/schema.ts), so the API's behaviour is still
// checked on every machine.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { runHubble } from '../../src/cli/hubble.js';
import { formatTimestamp, type Timestamp } from '../../src/hubble/flow.js';
import type { GetFlowsRequest } from '../../src/hubble/observer.js';
import type { HubbleBackend } from '../../src/hubble/relay.js';
import { HubbleGrpcServer } from '../../src/hubble/grpc/server.js';
import { root as ownSchema } from '../../src/hubble/grpc/schema.js';
import { ensureHubbleTls, HUBBLE_SERVER_NAME } from '../../src/hubble/grpc/tls.js';
import { applyCnp, podIp, pods, startCluster, type Cluster } from '../cluster/harness.js';
import { PassThrough } from 'node:stream';
import { down, showStatus, up } from '../../src/cli/cluster-commands.js';
import { execRemote, getJson } from '../../src/cli/daemon-client.js';
import { clusterPaths } from '../../src/cluster/paths.js';
import { readHubbleApiInfo } from '../../src/hubble/grpc/endpoint.js';

const UPSTREAM = join(process.cwd(), '..', 'shared', 'upstream');
const HAVE_UPSTREAM = existsSync(join(UPSTREAM, 'observer', 'observer.proto'));
/** Only the comparison with Hubble's own files needs them; everything else runs with podpath's definitions. */
const wireSkip = HAVE_UPSTREAM ? false : `Hubble's upstream protos are not at ${UPSTREAM}: nothing independent to compare podpath's wire definitions with`;

const LOADER: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: false };
const UINT64_MAX = '18446744073709551615';

// ---- clients from the upstream files ------------------------------------------------------

/** podpath's own definitions plus the Observer service (grpc-js keeps it in server.ts), for a client. */
function ownRoot(): protobuf.Root {
  const root = protobuf.Root.fromJSON(ownSchema.toJSON());
  const observer = new protobuf.Service('Observer');
  for (const [m, stream] of [['GetFlows', true], ['ServerStatus', false], ['GetNodes', false], ['GetNamespaces', false]] as const) {
    observer.add(new protobuf.Method(m, 'rpc', `${m}Request`, `${m}Response`, false, stream));
  }
  (root.lookup('observer') as protobuf.Namespace).add(observer);
  root.resolveAll();
  return root;
}

function upstreamRoot(): protobuf.Root {
  if (!HAVE_UPSTREAM) return ownRoot();
  const root = new protobuf.Root();
  // google/protobuf/*.proto come from protobufjs's bundled copies; everything else from the upstream tree.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(UPSTREAM, target));
  root.loadSync('observer/observer.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

/** Fields of Hubble's public API that the upstream copy lacks, added by number; returns what was added. */
function addPublicApiFields(root: protobuf.Root): string[] {
  const added: string[] = [];
  const flow = root.lookup('flow') as protobuf.Namespace;
  const ensureType = (name: string, fields: [string, number, string][]): void => {
    if (flow.get(name)) return;
    const t = new protobuf.Type(name);
    for (const [n, id, ty] of fields) t.add(new protobuf.Field(n, id, ty));
    flow.add(t);
  };
  const ensureEnum = (name: string, values: Record<string, number>): void => {
    if (!flow.get(name)) flow.add(new protobuf.Enum(name, values));
  };
  ensureType('Emitter', [['name', 1, 'string'], ['version', 2, 'string']]);
  ensureType('FileInfo', [['name', 1, 'string'], ['line', 2, 'uint32']]);
  ensureType('Policy', [['name', 1, 'string'], ['namespace', 2, 'string'], ['labels', 3, 'string'], ['revision', 4, 'uint64'], ['kind', 5, 'string']]);
  const policy = flow.get('Policy') as protobuf.Type;
  if (policy.fields['labels']!.repeated === false) {
    policy.remove(policy.fields['labels']!);
    policy.add(new protobuf.Field('labels', 3, 'string', 'repeated'));
  }
  ensureEnum('AuthType', { DISABLED: 0, SPIRE: 1, TEST_ALWAYS_FAIL: 2 });
  ensureEnum('TraceReason', { TRACE_REASON_UNKNOWN: 0, NEW: 1, ESTABLISHED: 2, REPLY: 3, RELATED: 4, REOPENED: 5, SRV6_ENCAP: 6, SRV6_DECAP: 7, ENCRYPT_OVERLAY: 8 });
  const addField = (typeName: string, name: string, id: number, type: string, rule?: string): void => {
    const t = root.lookupType(typeName);
    if (t.fields[name]) return;
    t.add(new protobuf.Field(name, id, type, rule));
    added.push(`${typeName.replace(/^flow\.|^observer\./, '')}.${name}`);
  };
  addField('flow.Flow', 'emitter', 41, 'Emitter');
  addField('flow.Flow', 'auth_type', 35, 'AuthType');
  addField('flow.Flow', 'node_labels', 37, 'string', 'repeated');
  addField('flow.Flow', 'trace_reason', 36, 'TraceReason');
  addField('flow.Flow', 'file', 38, 'FileInfo');
  addField('flow.Flow', 'egress_allowed_by', 21001, 'Policy', 'repeated');
  addField('flow.Flow', 'ingress_allowed_by', 21002, 'Policy', 'repeated');
  addField('flow.Flow', 'egress_denied_by', 21004, 'Policy', 'repeated');
  addField('flow.Flow', 'ingress_denied_by', 21005, 'Policy', 'repeated');
  addField('flow.Flow', 'policy_log', 21006, 'string', 'repeated');
  addField('flow.Endpoint', 'cluster_name', 7, 'string');
  addField('flow.IP', 'source_xlated', 5, 'string');
  addField('observer.ServerStatusResponse', 'flows_rate', 9, 'double');
  const drop = root.lookupEnum('flow.DropReason');
  const more: Record<string, number> = { NO_EGRESS_GATEWAY: 194, UNENCRYPTED_TRAFFIC: 195, TTL_EXCEEDED: 196, NO_NODE_ID: 197, DROP_RATE_LIMITED: 198, IGMP_HANDLED: 199, IGMP_SUBSCRIBED: 200, MULTICAST_HANDLED: 201, DROP_HOST_NOT_READY: 202, DROP_EP_NOT_READY: 203, DROP_NO_EGRESS_IP: 204, DROP_PUNT_PROXY: 205 };
  for (const [k, v] of Object.entries(more)) if (drop.values[k] === undefined) drop.add(k, v);
  const obs = root.lookup('observer') as protobuf.Namespace;
  if (!obs.get('GetNamespacesRequest')) {
    obs.add(new protobuf.Type('GetNamespacesRequest'));
    obs.add(new protobuf.Type('Namespace').add(new protobuf.Field('cluster', 1, 'string')).add(new protobuf.Field('namespace', 2, 'string')));
    obs.add(new protobuf.Type('GetNamespacesResponse').add(new protobuf.Field('namespaces', 1, 'Namespace', 'repeated')));
    (obs.get('Observer') as protobuf.Service).add(new protobuf.Method('GetNamespaces', 'rpc', 'GetNamespacesRequest', 'GetNamespacesResponse'));
    added.push('Observer.GetNamespaces');
  }
  root.resolveAll();
  return added;
}

// The standard gRPC health service (grpc/health/v1/health.proto), as `hubble status` uses it.
const HEALTH_PROTO = `syntax = "proto3"; package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse { enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; } ServingStatus status = 1; }
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse); }`;

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;
interface ObserverClient extends grpc.Client {
  GetFlows(req: unknown): grpc.ClientReadableStream<Record<string, unknown>>;
  ServerStatus: Unary;
  GetNodes: Unary;
  GetNamespaces?: Unary;
}

function clientCtor(root: protobuf.Root, service: string): grpc.ServiceClientConstructor {
  const def = protoLoader.fromJSON(root.toJSON(), LOADER);
  const [pkg, name] = service.split(/\.(?=[^.]+$)/) as [string, string];
  let ns = grpc.loadPackageDefinition(def) as unknown as Record<string, unknown>;
  for (const part of pkg.split('.')) ns = ns[part] as Record<string, unknown>;
  return ns[name] as grpc.ServiceClientConstructor;
}

function call<T = Record<string, unknown>>(c: ObserverClient, m: 'ServerStatus' | 'GetNodes' | 'GetNamespaces', req: unknown = {}): Promise<T> {
  return new Promise((resolve, reject) => (c[m] as Unary).call(c, req, (err, res) => (err ? reject(err) : resolve(res as T))));
}

interface StreamResult {
  flows: Record<string, unknown>[];
  statuses: Record<string, unknown>[];
}

function readFlows(c: ObserverClient, req: unknown): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const out: StreamResult = { flows: [], statuses: [] };
    const s = c.GetFlows(req);
    s.on('data', (r: Record<string, unknown>) => {
      if (r['flow']) out.flows.push(r['flow'] as Record<string, unknown>);
      else if (r['node_status']) out.statuses.push(r['node_status'] as Record<string, unknown>);
    });
    s.on('error', reject);
    s.on('end', () => resolve(out));
  });
}

/** A GetFlowsRequest (podpath's record) as the object the upstream client serializes. */
function wireRequest(req: GetFlowsRequest): Record<string, unknown> {
  const w: Record<string, unknown> = { ...req };
  if (req.number !== undefined) w['number'] = req.number === Infinity ? UINT64_MAX : String(req.number);
  return w;
}

// ---- decoded message → the proto3 JSON form `hubble observe -o json` prints ---------------

const WRAPPERS = new Set(['.google.protobuf.BoolValue', '.google.protobuf.UInt32Value', '.google.protobuf.Int32Value']);

function isZero(field: protobuf.Field, v: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) return field.resolvedType.values[v as string] === 0;
  return v === false || v === 0 || v === '' || (v === '0' && /64/.test(field.type)) || (Array.isArray(v) && v.length === 0);
}

/** proto3 JSON of a decoded object: zero values left out, Timestamps as RFC 3339, wrappers as their value. */
function jsonForm(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const field = type.fields[k];
    assert.ok(field, `decoded a field ${type.name}.${k} the schema does not declare`);
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) {
      if (rt.fullName === '.google.protobuf.Timestamp') {
        const t = v as { seconds?: string; nanos?: number };
        out[k] = formatTimestamp({ seconds: Number(t.seconds ?? 0), nanos: t.nanos ?? 0 });
      } else if (WRAPPERS.has(rt.fullName)) {
        out[k] = (v as { value?: unknown }).value ?? (rt.fullName.endsWith('BoolValue') ? false : 0);
      } else if (field.repeated) {
        out[k] = (v as Record<string, unknown>[]).map((x) => jsonForm(rt, x));
      } else {
        out[k] = jsonForm(rt, v as Record<string, unknown>);
      }
    } else if (!isZero(field, v)) {
      out[k] = v;
    }
  }
  return out;
}

/** podpath's JSON restricted to what `type` declares; the paths left out go to `missing`. */
function restrict(type: protobuf.Type, json: Record<string, unknown>, missing: Set<string>, path = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    const field = type.fields[k];
    if (!field) {
      missing.add(path + k);
      continue;
    }
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type && !rt.fullName.startsWith('.google.protobuf.')) {
      out[k] = field.repeated ? (v as Record<string, unknown>[]).map((x) => restrict(rt, x, missing, `${path}${k}.`)) : restrict(rt, v as Record<string, unknown>, missing, `${path}${k}.`);
    } else out[k] = v;
  }
  return out;
}

// ---- the cluster -----------------------------------------------------------------------------


interface Lab extends Cluster {
  fe: string;
  dir: string;
  socket: string;
  port: number;
  server: HubbleGrpcServer;
  tls: ReturnType<typeof ensureHubbleTls>;
  /** `hubble observe` in-process; `requests` gets each GetFlowsRequest the CLI sent. */
  hubble(args: string[]): Promise<{ code: number; stdout: string; stderr: string; request: GetFlowsRequest | undefined }>;
  traffic(): Promise<void>;
}

let L: Lab;
let upstream: { root: protobuf.Root; Observer: grpc.ServiceClientConstructor };
let publicApi: { root: protobuf.Root; Observer: grpc.ServiceClientConstructor; added: string[] };
let unixClient: ObserverClient;
let fullClient: ObserverClient;

async function lab(): Promise<Lab> {
  const c = await startCluster();
  const { rt } = c;
  rt.deployDemo();
  const policy = (name: string, spec: unknown): void => applyCnp(rt, 'demo', name, spec);
  policy('allow-frontend', { endpointSelector: { matchLabels: { app: 'backend' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] });
  policy('deny-fe-to-db', { endpointSelector: { matchLabels: { app: 'database' } }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'frontend' } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] }] });
  policy('frontend-egress', {
    endpointSelector: { matchLabels: { app: 'frontend' } },
    egress: [
      { toEndpoints: [{ matchLabels: { app: 'backend' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{}] } }] },
      { toEndpoints: [{ matchLabels: { app: 'database' } }], toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }] },
      { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] },
    ],
    egressDeny: [{ toEndpoints: [{ matchLabels: { app: 'backend' } }], toPorts: [{ ports: [{ port: '9090', protocol: 'TCP' }] }] }],
  });
  const fe = pods(rt, 'demo', 'frontend')[0]!.metadata.name!;
  const be = pods(rt, 'demo', 'backend')[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'podpath-grpc-'));
  const tls = ensureHubbleTls(dir, 'grpctest');
  const server = new HubbleGrpcServer({ backend: rt.hubble.relay, observers: rt.hubble, clusterName: rt.config.cilium.clusterName, now: () => c.clock.wallNow() });
  const socket = join(dir, 'hubble.sock');
  await server.listenUnix(socket);
  const port = await server.listenTls({ ca: tls.ca, cert: tls.serverCert, key: tls.serverKey });
  const hubble: Lab['hubble'] = async (args) => {
    let stdout = '';
    let stderr = '';
    let request: GetFlowsRequest | undefined;
    const relay = rt.hubble.relay;
    const backend: HubbleBackend = {
      address: relay.address,
      isRelay: true,
      getFlows: (req, sink, signal) => {
        request = req;
        return relay.getFlows(req, sink, signal);
      },
      serverStatus: () => relay.serverStatus(),
      nodes: () => relay.nodes(),
    };
    const code = await runHubble(args, { backend: () => backend, io: { stdout: (s) => (stdout += String(s)), stderr: (s) => (stderr += String(s)), signal: new AbortController().signal }, now: () => c.clock.wallNow() });
    return { code, stdout, stderr, request };
  };
  const traffic = async (): Promise<void> => {
    assert.equal((await c.exec(`demo/${fe}`, ['curl', '-s', 'http://backend:8080/api/users'])).code, 0);
    assert.equal((await c.exec(`demo/${fe}`, ['curl', '-s', '-m', '1', 'http://database:5432/'])).code, 28);
    assert.equal((await c.exec(`demo/${fe}`, ['curl', '-s', '-m', '1', `http://${podIp(be)}:9090/`])).code, 28);
  };
  return { ...c, fe, dir, socket, port, server, tls, hubble, traffic };
}

before(async () => {
  L = await lab();
  await L.traffic();
  const root = upstreamRoot();
  upstream = { root, Observer: clientCtor(root, 'observer.Observer') };
  const extended = upstreamRoot();
  const added = HAVE_UPSTREAM ? addPublicApiFields(extended) : [];
  publicApi = { root: extended, Observer: clientCtor(extended, 'observer.Observer'), added };
  unixClient = new upstream.Observer(`unix://${L.socket}`, grpc.credentials.createInsecure()) as unknown as ObserverClient;
  fullClient = new publicApi.Observer(`unix://${L.socket}`, grpc.credentials.createInsecure()) as unknown as ObserverClient;
});

after(async () => {
  unixClient?.close();
  fullClient?.close();
  await L.server.close();
  await L.rt.close();
  rmSync(L.dir, { recursive: true, force: true });
});

function cliFlows(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { flow: Record<string, unknown> }).flow);
}

const uuids = (flows: Record<string, unknown>[]): string[] => flows.map((f) => String(f['uuid']));

test('a client built from the upstream protos decodes every flow as `hubble observe -o json` prints it, field by field', { skip: wireSkip }, async () => {
  const cli = await L.hubble(['observe', '--all', '-o', 'json']);
  assert.equal(cli.code, 0, cli.stderr);
  const expected = cliFlows(cli.stdout);
  assert.ok(expected.length > 50, `${expected.length} flows`);
  const flowType = (r: protobuf.Root): protobuf.Type => r.lookupType('flow.Flow');

  // Through the relay, as `hubble observe --all` asks: the nodes first, then every flow in the same order.
  const got = await readFlows(unixClient, wireRequest(cli.request!));
  assert.deepEqual(got.statuses.map((s) => s['state_change']), ['NODE_CONNECTED']);
  assert.deepEqual((got.statuses[0]!['node_names'] as string[]).sort(), L.rt.nodes.map((n) => n.name).sort());
  assert.deepEqual(uuids(got.flows), uuids(expected));

  // Upstream's own schema: every field it declares equals podpath's JSON; what it lacks is exactly the newer fields.
  const missing = new Set<string>();
  for (const [i, f] of got.flows.entries()) assert.deepEqual(jsonForm(flowType(upstream.root), f), restrict(flowType(upstream.root), expected[i]!, missing), `flow ${i}`);
  const asDeclared = (path: string): string => {
    const [head, ...rest] = path.split('.');
    if (!rest.length) return `Flow.${head}`;
    return `${head === 'source' || head === 'destination' ? 'Endpoint' : head}.${rest.join('.')}`;
  };
  for (const m of missing) assert.ok(publicApi.added.includes(asDeclared(m)), `${m}: not in upstream's copy and not a known newer field`);
  assert.ok(missing.has('egress_allowed_by') && missing.has('emitter'), 'the upstream copy predates the policy fields');

  // With the public API's newer fields added: the whole flow, nothing left out.
  const full = await readFlows(fullClient, wireRequest(cli.request!));
  const none = new Set<string>();
  const compared = new Set<string>();
  for (const [i, f] of full.flows.entries()) {
    const mine = jsonForm(flowType(publicApi.root), f);
    assert.deepEqual(mine, restrict(flowType(publicApi.root), expected[i]!, none), `flow ${i}`);
    for (const k of Object.keys(mine)) compared.add(k);
    if (mine['l4'] && (mine['l4'] as { TCP?: { flags?: object } }).TCP?.flags) compared.add('l4.TCP.flags');
    if ((mine['l7'] as { http?: unknown } | undefined)?.http) compared.add('l7.http');
    for (const side of ['source', 'destination']) {
      const ep = mine[side] as Record<string, unknown> | undefined;
      if (ep?.['pod_name'] && ep['labels']) compared.add(`${side}.pod_name+labels`);
    }
  }
  assert.deepEqual([...none], [], 'every field podpath prints has a wire field');
  for (const k of ['time', 'uuid', 'emitter', 'verdict', 'IP', 'l4', 'l4.TCP.flags', 'source', 'destination', 'source.pod_name+labels', 'destination.pod_name+labels', 'Type', 'node_name', 'node_labels', 'event_type', 'traffic_direction', 'trace_observation_point', 'trace_reason', 'is_reply', 'drop_reason_desc', 'Summary', 'egress_allowed_by', 'ingress_allowed_by', 'egress_denied_by', 'ingress_denied_by', 'l7', 'l7.http', 'interface', 'ethernet']) {
    assert.ok(compared.has(k), `no flow carried ${k}`);
  }
});

test('whitelist/blacklist filters over gRPC give the flows the same `hubble observe` flags give', async () => {
  const cases: string[][] = [
    ['--pod', `demo/${L.fe}`],
    ['--from-pod', `demo/${L.fe}`, '--to-pod', 'demo/backend'],
    ['--namespace', 'demo', '--verdict', 'DROPPED'],
    ['--to-port', '8080', '--type', 'trace:to-endpoint', '--tcp-flags', 'SYN'],
    ['--protocol', 'http', '--http-method', 'GET', '--http-status', '2+'],
    ['--label', 'app=backend', '--not', '--port', '53'],
    ['--type', 'policy-verdict', '--traffic-direction', 'egress'],
    ['--to-label', 'app=database', '--not', '--type', 'policy-verdict'],
    ['--identity', 'world', '--not', '--protocol', 'udp'],
    ['--node-name', 'kind-worker*', '--to-port', '53', '--protocol', 'udp'],
  ];
  for (const flags of cases) {
    const cli = await L.hubble(['observe', ...flags, '--all', '-o', 'json']);
    assert.equal(cli.code, 0, `${flags.join(' ')}: ${cli.stderr}`);
    const expected = uuids(cliFlows(cli.stdout));
    assert.ok(cli.request!.whitelist!.length || cli.request!.blacklist!.length);
    const got = await readFlows(unixClient, wireRequest(cli.request!));
    assert.deepEqual(uuids(got.flows), expected, flags.join(' '));
    if (flags[0] !== '--identity' && flags[0] !== '--node-name') assert.ok(expected.length > 0, `${flags.join(' ')} matched nothing`);
  }
});

test('number, first, since and until read the ring as `hubble observe --last/--first/--since/--until` do', async () => {
  const all = cliFlows((await L.hubble(['observe', '--all', '-o', 'json'])).stdout);
  const t = (i: number): string => String(all[i]!['time']);
  const cases: string[][] = [['--last', '7'], ['--first', '9'], ['--since', t(20), '--until', t(40)], ['--since', t(30), '--last', '5'], ['--first', '3', '--to-port', '8080'], []];
  for (const flags of cases) {
    const cli = await L.hubble(['observe', ...flags, '-o', 'json']);
    assert.equal(cli.code, 0, cli.stderr);
    const expected = uuids(cliFlows(cli.stdout));
    const got = await readFlows(unixClient, wireRequest(cli.request!));
    assert.deepEqual(uuids(got.flows), expected, flags.join(' ') || '(default: the last 20)');
  }
  // The window by hand: since and until are inclusive, oldest first.
  const got = await readFlows(unixClient, { since: tsOf(all[20]!), until: tsOf(all[40]!) });
  const inWindow = all.filter((f) => String(f['time']) >= t(20) && String(f['time']) <= t(40));
  assert.deepEqual(uuids(got.flows), uuids(inWindow));
});

function tsOf(f: Record<string, unknown>): Timestamp {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(String(f['time']))!;
  return { seconds: Math.floor(Date.parse(m[1] + 'Z') / 1000), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
}

test('follow streams a new flow after traffic; first with follow is InvalidArgument', async () => {
  const stream = unixClient.GetFlows({ follow: true, whitelist: [{ destination_port: ['8080'], event_type: [{ type: 4, match_sub_type: true, sub_type: 0 }] }] });
  const seen: Record<string, unknown>[] = [];
  let firstFlow!: () => void;
  const arrived = new Promise<void>((r) => (firstFlow = r));
  let statuses = 0;
  stream.on('data', (r: Record<string, unknown>) => {
    if (r['node_status']) statuses++;
    if (r['flow']) {
      seen.push(r['flow'] as Record<string, unknown>);
      firstFlow();
    }
  });
  const ended = new Promise<grpc.ServiceError | undefined>((r) => {
    stream.on('error', r);
    stream.on('end', () => r(undefined));
  });
  // The stream is open (the relay's node status came) before the traffic starts: no history, only new flows.
  for (let i = 0; i < 200 && statuses === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(statuses, 1);
  const before = L.clock.wallNow();
  assert.equal((await L.exec(`demo/${L.fe}`, ['curl', '-s', 'http://backend:8080/api/users'])).code, 0);
  await arrived;
  assert.ok(seen.length >= 1);
  for (const f of seen) {
    const j = jsonForm(upstream.root.lookupType('flow.Flow'), f);
    assert.equal((j['l4'] as { TCP: { destination_port: number } }).TCP.destination_port, 8080);
    assert.equal(j['trace_observation_point'], 'TO_ENDPOINT');
    assert.ok(Date.parse(String(j['time'])) >= before - 1, 'a new flow, not history');
  }
  stream.cancel();
  assert.equal((await ended)?.code, grpc.status.CANCELLED);

  const bad = await readFlows(unixClient, { first: true, follow: true, number: '1' }).then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  assert.equal(bad?.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(bad?.details, 'first cannot be specified with follow');
  const badFilter = await readFlows(unixClient, { whitelist: [{ source_ip: ['not-an-ip'] }] }).then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  assert.equal(badFilter?.code, grpc.status.INVALID_ARGUMENT);
});

test('ServerStatus, GetNodes, GetNamespaces and the health check', async () => {
  const relay = L.rt.hubble.relay;
  const want = await relay.serverStatus();
  const st = await call(unixClient, 'ServerStatus');
  // flows_rate (9) is newer than the upstream copy: checked below with the public API's fields.
  const { flows_rate: _rate, ...withoutRate } = jsonForm(upstream.root.lookupType('observer.ServerStatusResponse'), st);
  assert.deepEqual(withoutRate, {
    num_flows: String(want.num_flows),
    max_flows: String(want.max_flows),
    seen_flows: String(want.seen_flows),
    uptime_ns: String(want.uptime_ns),
    num_connected_nodes: L.rt.nodes.length,
    num_unavailable_nodes: 0,
    version: want.version,
  });
  assert.equal(want.max_flows, 4095 * L.rt.nodes.length, 'summed over the nodes');
  const withRate = await call(fullClient, 'ServerStatus');
  assert.equal(withRate['flows_rate'], want.flows_rate);
  assert.ok(want.flows_rate > 0);

  const nodes = (await call<{ nodes: Record<string, unknown>[] }>(unixClient, 'GetNodes')).nodes;
  const wantNodes = await relay.nodes();
  assert.deepEqual(
    nodes.map((n) => jsonForm(upstream.root.lookupType('observer.Node'), n)),
    wantNodes.map((n) => {
      const counts = Object.entries({ uptime_ns: n.uptime_ns, num_flows: n.num_flows, max_flows: n.max_flows, seen_flows: n.seen_flows }).filter(([, v]) => v !== 0);
      return { name: n.name, version: n.version, address: n.address, state: 'NODE_CONNECTED', tls: {}, ...Object.fromEntries(counts.map(([k, v]) => [k, String(v)])) };
    }),
  );

  const ns = (await call<{ namespaces: { cluster: string; namespace: string }[] }>(fullClient, 'GetNamespaces')).namespaces;
  const all = cliFlows((await L.hubble(['observe', '--all', '-o', 'json'])).stdout);
  const expected = new Set<string>();
  for (const f of all) for (const side of ['source', 'destination']) {
    const ep = f[side] as { namespace?: string } | undefined;
    if (ep?.namespace) expected.add(`default/${ep.namespace}`);
  }
  assert.deepEqual(ns.map((n) => `${n.cluster}/${n.namespace}`), [...expected].sort());
  assert.ok(expected.has('default/demo') && expected.has('default/kube-system'));

  const healthRoot = protobuf.parse(HEALTH_PROTO, { keepCase: true }).root;
  const Health = clientCtor(healthRoot, 'grpc.health.v1.Health');
  const h = new Health(`unix://${L.socket}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Unary };
  const check = (service: string): Promise<Record<string, unknown>> => new Promise((res, rej) => h.Check({ service }, (e, r) => (e ? rej(e) : res(r))));
  assert.deepEqual(await check('observer.Observer'), { status: 'SERVING' });
  assert.deepEqual(await check(''), { status: 'SERVING' });
  await assert.rejects(check('no.such.Service'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  h.close();
});

test('the unix socket is the owner’s (0600); the loopback port wants a client certificate the cluster CA signed', async () => {
  assert.equal(statSync(L.socket).mode & 0o777, 0o600);
  for (const f of Object.values(L.tls.files)) assert.equal(statSync(f).mode & 0o777, 0o600, f);
  const target = `127.0.0.1:${L.port}`;
  const opts = { 'grpc.ssl_target_name_override': HUBBLE_SERVER_NAME, 'grpc.default_authority': HUBBLE_SERVER_NAME };
  const withCert = new upstream.Observer(target, grpc.credentials.createSsl(L.tls.ca, readFileSync(L.tls.files.clientKey), readFileSync(L.tls.files.clientCert)), opts) as unknown as ObserverClient;
  const st = await call(withCert, 'ServerStatus');
  assert.equal((st['num_connected_nodes'] as { value: number }).value, L.rt.nodes.length);
  // Clients that dial 127.0.0.1 without a server name verify the address: the certificate names it.
  assert.match(new X509Certificate(L.tls.serverCert).subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  const deadline = (): grpc.CallOptions => ({ deadline: Date.now() + 3000 });
  const refused = async (c: ObserverClient): Promise<grpc.ServiceError> =>
    new Promise((resolve, reject) => (c.ServerStatus as unknown as (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void).call(c, {}, deadline(), (e) => (e ? resolve(e) : reject(new Error('the call succeeded')))));
  const noCert = new upstream.Observer(target, grpc.credentials.createSsl(L.tls.ca), opts) as unknown as ObserverClient;
  assert.equal((await refused(noCert)).code, grpc.status.UNAVAILABLE);
  const plain = new upstream.Observer(target, grpc.credentials.createInsecure()) as unknown as ObserverClient;
  assert.equal((await refused(plain)).code, grpc.status.UNAVAILABLE);
  // A certificate from another CA is refused too.
  const other = ensureHubbleTls(mkdtempSync(join(tmpdir(), 'podpath-other-ca-')), 'other');
  const stranger = new upstream.Observer(target, grpc.credentials.createSsl(L.tls.ca, readFileSync(other.files.clientKey), readFileSync(other.files.clientCert)), opts) as unknown as ObserverClient;
  assert.equal((await refused(stranger)).code, grpc.status.UNAVAILABLE);
  for (const c of [withCert, noCert, plain, stranger]) c.close();
});

test('the daemon serves the relay on <cluster dir>/hubble.sock and 127.0.0.1 (mutual TLS); `podpath status` says where', async () => {
  const home = mkdtempSync(join(tmpdir(), 'podpath-grpc-home-'));
  const saved = process.env['PODPATH_HOME'];
  process.env['PODPATH_HOME'] = home;
  const name = 'grpcdaemon';
  const quiet = (): void => {};
  try {
    await up({ name, demo: true }, quiet);
    const paths = clusterPaths(name, home);
    const info = readHubbleApiInfo(paths.dir)!;
    assert.equal(info.unix, `unix://${join(paths.dir, 'hubble.sock')}`);
    assert.equal(statSync(join(paths.dir, 'hubble.sock')).mode & 0o777, 0o600);
    assert.equal(statSync(join(paths.dir, 'hubble.json')).mode & 0o777, 0o600);
    assert.match(info.tls, /^127\.0\.0\.1:\d+$/);
    let status = '';
    await showStatus({ name }, (s) => (status += s));
    assert.ok(status.includes(`  hubble API: ${info.unix}, tls://${info.tls} `), status);

    const list = await getJson<{ items: { metadata: { name: string } }[] }>(paths.socket, '/api/v1/namespaces/demo/pods?labelSelector=app%3Dfrontend');
    const fe = list.items[0]!.metadata.name;
    const sink = new PassThrough().resume();
    assert.equal(await execRemote(paths.socket, { target: `demo/${fe}`, argv: ['curl', '-s', 'http://backend:8080/api/users'] }, sink, sink), 0);

    const overUnix = new upstream.Observer(info.unix, grpc.credentials.createInsecure()) as unknown as ObserverClient;
    const overTls = new upstream.Observer(info.tls, grpc.credentials.createSsl(readFileSync(info.ca), readFileSync(info.client_key), readFileSync(info.client_cert)), { 'grpc.ssl_target_name_override': info.tls_server_name }) as unknown as ObserverClient;
    for (const c of [overUnix, overTls]) {
      const st = await call(c, 'ServerStatus');
      assert.deepEqual(st['num_connected_nodes'], { value: 4 });
      const got = await readFlows(c, { number: '1000', whitelist: [{ source_pod: [`demo/${fe}`], destination_port: ['8080'] }] });
      assert.ok(got.flows.length > 0, 'the curl’s flows');
      for (const f of got.flows) assert.equal((f['source'] as { pod_name: string }).pod_name, fe);
      c.close();
    }
  } finally {
    await down({ name }, quiet);
    assert.ok(!existsSync(join(clusterPaths(name, home).dir, 'hubble.sock')));
    assert.ok(!existsSync(join(clusterPaths(name, home).dir, 'hubble.json')));
    if (saved === undefined) delete process.env['PODPATH_HOME'];
    else process.env['PODPATH_HOME'] = saved;
    rmSync(home, { recursive: true, force: true });
  }
});
