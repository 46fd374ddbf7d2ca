// Hubble's Observer API over gRPC (service observer.Observer, plus the
// standard grpc.health.v1.Health that `hubble status` asks first), answered
// by a HubbleBackend: the relay (all nodes merged) or one node's observer.
// GetFlows reads exactly as the relay's getFlows does (the reference's §4.1
// ring rules, the filter engine of filter.ts); ServerStatus, GetNodes and
// GetNamespaces answer from the same observers. The daemon serves it on a
// 0600 unix socket and on 127.0.0.1 with mutual TLS.

import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { FilterError } from '../filter.js';
import { timeFromMillis, timeToMillis, type Flow } from '../flow.js';
import type { GetFlowsRequest } from '../observer.js';
import type { HubbleBackend, ObserverSet } from '../relay.js';
import { HEALTH_SERVICE, OBSERVER_SERVICE, SERVING_STATUS, T } from './schema.js';
import { decodeGetFlowsRequest, encodeFlowResponse, encodeNamespaces, encodeNodes, encodeNodeStatus, encodeServerStatus } from './wire.js';

const NAMESPACE_TTL_MS = 60 * 60 * 1000;

export interface HubbleGrpcOptions {
  backend: HubbleBackend;
  /** The observers behind the backend: GetNamespaces tracks the namespaces their flows show. */
  observers?: ObserverSet;
  /** Cluster name for namespaces of endpoints that carry none (L7 flows). */
  clusterName: string;
  /** The cluster clock's wall time (ms). */
  now: () => number;
}

/** Namespaces seen in flows during the last hour, as GetNamespaces lists them. */
export class NamespaceTracker {
  private readonly seen = new Map<string, { cluster: string; namespace: string; at: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    set: ObserverSet,
    private readonly clusterName: string,
    private readonly now: () => number,
  ) {
    set.drainAll();
    for (const o of set.observers) for (let seq = o.ring.oldestSeq; seq < o.ring.nextSeq; seq++) this.record(o.ring.at(seq)!);
    this.unsubscribe = set.subscribe(null, (flows) => {
      for (const f of flows) this.record(f);
    });
  }

  private record(f: Flow): void {
    const at = timeToMillis(f.time);
    for (const ep of [f.source, f.destination]) {
      if (!ep?.namespace) continue;
      const cluster = ep.cluster_name || this.clusterName;
      const key = `${cluster}/${ep.namespace}`;
      const cur = this.seen.get(key);
      if (!cur) this.seen.set(key, { cluster, namespace: ep.namespace, at });
      else if (at > cur.at) cur.at = at;
    }
  }

  list(): { cluster: string; namespace: string }[] {
    const from = this.now() - NAMESPACE_TTL_MS;
    for (const [k, v] of this.seen) if (v.at < from) this.seen.delete(k);
    return [...this.seen.values()].sort((a, b) => (a.cluster === b.cluster ? (a.namespace < b.namespace ? -1 : 1) : a.cluster < b.cluster ? -1 : 1)).map(({ cluster, namespace }) => ({ cluster, namespace }));
  }

  close(): void {
    this.unsubscribe();
  }
}

const identity = (b: Buffer): Buffer => b;

function method<Req>(service: string, name: string, decode: (b: Buffer) => Req, responseStream: boolean): grpc.MethodDefinition<Req, Buffer> {
  return { path: `/${service}/${name}`, requestStream: false, responseStream, requestSerialize: () => Buffer.alloc(0), requestDeserialize: decode, responseSerialize: identity, responseDeserialize: identity };
}

const empty = (): Record<string, never> => ({});

export const OBSERVER_DEFINITION = {
  GetFlows: method(OBSERVER_SERVICE, 'GetFlows', decodeGetFlowsRequest, true),
  ServerStatus: method(OBSERVER_SERVICE, 'ServerStatus', empty, false),
  GetNodes: method(OBSERVER_SERVICE, 'GetNodes', empty, false),
  GetNamespaces: method(OBSERVER_SERVICE, 'GetNamespaces', empty, false),
};

// An object, not the bare name: grpc-js takes a falsy request (service "") for a missing one.
const decodeHealth = (b: Buffer): { service: string } => ({ service: String((T.HealthCheckRequest.decode(b) as unknown as { service?: string }).service ?? '') });

export const HEALTH_DEFINITION = {
  Check: method(HEALTH_SERVICE, 'Check', decodeHealth, false),
  Watch: method(HEALTH_SERVICE, 'Watch', decodeHealth, true),
};

function status(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

function errorStatus(e: unknown): Partial<grpc.StatusObject> {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof FilterError || message === 'first cannot be specified with follow') return status(grpc.status.INVALID_ARGUMENT, message);
  return status(grpc.status.INTERNAL, message);
}

const HEALTHY_SERVICES = new Set(['', OBSERVER_SERVICE]);

function healthResponse(service: string): Buffer | undefined {
  if (!HEALTHY_SERVICES.has(service)) return undefined;
  return Buffer.from(T.HealthCheckResponse.encode({ status: SERVING_STATUS.SERVING }).finish());
}

export class HubbleGrpcServer {
  private readonly server = new grpc.Server({ 'grpc.max_send_message_length': 16 * 1024 * 1024 });
  private readonly namespaces: NamespaceTracker | undefined;
  private readonly streams = new Set<AbortController>();
  private readonly sockets: string[] = [];

  constructor(private readonly opts: HubbleGrpcOptions) {
    this.namespaces = opts.observers ? new NamespaceTracker(opts.observers, opts.clusterName, opts.now) : undefined;
    this.server.addService(OBSERVER_DEFINITION, {
      GetFlows: (call: grpc.ServerWritableStream<GetFlowsRequest, Buffer>) => void this.getFlows(call),
      ServerStatus: (_call: grpc.ServerUnaryCall<unknown, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        opts.backend.serverStatus().then(
          (s) => cb(null, encodeServerStatus(s)),
          (e: unknown) => cb(errorStatus(e)),
        );
      },
      GetNodes: (_call: grpc.ServerUnaryCall<unknown, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (!opts.backend.isRelay) return cb(status(grpc.status.UNIMPLEMENTED, 'GetNodes is only served by the relay'));
        opts.backend.nodes().then(
          (n) => cb(null, encodeNodes(n)),
          (e: unknown) => cb(errorStatus(e)),
        );
      },
      GetNamespaces: (_call: grpc.ServerUnaryCall<unknown, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (!this.namespaces) return cb(status(grpc.status.UNIMPLEMENTED, 'GetNamespaces is not served here'));
        opts.observers!.drainAll();
        cb(null, encodeNamespaces(this.namespaces.list()));
      },
    });
    this.server.addService(HEALTH_DEFINITION, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const r = healthResponse(call.request.service);
        if (!r) return cb(status(grpc.status.NOT_FOUND, `unknown service ${call.request.service}`));
        cb(null, r);
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, Buffer>) => {
        const r = healthResponse(call.request.service) ?? Buffer.from(T.HealthCheckResponse.encode({ status: SERVING_STATUS.SERVICE_UNKNOWN }).finish());
        call.write(r);
        // The status never changes while the server runs: the stream stays open until the client leaves.
        const abort = new AbortController();
        this.streams.add(abort);
        const done = (): void => {
          if (!this.streams.delete(abort)) return;
          call.end();
        };
        call.on('cancelled', done);
        abort.signal.addEventListener('abort', done, { once: true });
      },
    });
  }

  private async getFlows(call: grpc.ServerWritableStream<GetFlowsRequest, Buffer>): Promise<void> {
    const req = call.request;
    if (req.first && req.follow) {
      call.emit('error', status(grpc.status.INVALID_ARGUMENT, 'first cannot be specified with follow'));
      return;
    }
    const backend = this.opts.backend;
    const abort = new AbortController();
    this.streams.add(abort);
    call.on('cancelled', () => abort.abort());
    try {
      if (backend.isRelay) {
        // As hubble-relay does: the nodes taking part, before their flows.
        const names = (await backend.nodes()).map((n) => n.name);
        if (names.length) call.write(encodeNodeStatus('NODE_CONNECTED', names, timeFromMillis(this.opts.now())));
      }
      await backend.getFlows(
        req,
        {
          flow: (f) => {
            if (!abort.signal.aborted) call.write(encodeFlowResponse(f));
          },
        },
        abort.signal,
      );
      if (!call.cancelled) call.end();
    } catch (e) {
      if (!call.cancelled) call.emit('error', errorStatus(e));
    } finally {
      this.streams.delete(abort);
    }
  }

  /** Serve on a unix socket, mode 0600; returns the `unix://` address Hubble's --server takes. */
  listenUnix(path: string): Promise<string> {
    if (existsSync(path)) unlinkSync(path);
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err) return reject(err);
        chmodSync(path, 0o600);
        this.sockets.push(path);
        resolve(`unix://${path}`);
      });
    });
  }

  /** Serve on host:port (127.0.0.1 only) with mutual TLS: the client must present a certificate the CA signed. Returns the port. */
  listenTls(tls: { ca: Buffer; cert: Buffer; key: Buffer }, port = 0, host = '127.0.0.1'): Promise<number> {
    const creds = grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  close(): Promise<void> {
    for (const a of [...this.streams]) a.abort();
    this.namespaces?.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.forceShutdown(), 2000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        for (const p of this.sockets) if (existsSync(p)) unlinkSync(p);
        resolve();
      });
    });
  }
}
