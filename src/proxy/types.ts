// What the HTTP and DNS proxies share: the redirected flow as the proxy sees
// it, and the services the node's L7Proxy gives them.

import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import type { AccessLogEndpoint, AccessLogRecord } from '../datapath/accesslog.js';
import type { FqdnUpdate } from './fqdn.js';
import type { L7Direction, L7PolicyRules } from './l7-policy.js';
import type { TransparentNetns } from './tproxy.js';

export type L7Parser = 'http' | 'dns';

/** One end of a redirected connection. */
export interface Peer {
  ip: number;
  port: number;
  identity: number;
  /** Local endpoint ID, 0 when the peer is not an endpoint of this node. */
  endpointId: number;
}

/** A connection (or datagram flow) the datapath redirected to a proxy port. */
export interface Redirect {
  proxyPort: number;
  parser: L7Parser;
  /** Whose policy redirected: the server's ingress or the client's egress. */
  direction: L7Direction;
  proto: number;
  client: Peer;
  /** The original destination (the backend when socket LB translated the service). */
  server: Peer;
  /** The endpoint whose policy applies, its identity, and the peer's. */
  endpointId: number;
  endpointIdentity: number;
  remoteIdentity: number;
  /** skb mark of the proxy's upstream packets (client → server). */
  upstreamMark: number;
  /** skb mark of the proxy's answers to the client (server → client). */
  downstreamMark: number;
}

export interface ProxyContext {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly netns: TransparentNetns;
  /** The rules covering the flow, asked per request (policy may change while a connection lives). */
  rules(r: Redirect): L7PolicyRules | null;
  /** An access-log record into the node's event stream. */
  log(record: AccessLogRecord): void;
  endpoint(p: Peer): AccessLogEndpoint;
  /** The wall clock as a record's Timestamp (RFC 3339, nanoseconds). */
  timestamp(): string;
  /** DNS answers the policy allowed: the agent updates toFQDNs selectors before the answer is released. */
  learn(u: FqdnUpdate): void | Promise<void>;
  /** --proxy-connect-timeout in ms. */
  readonly connectTimeoutMs: number;
}

/**
 * The fields every access-log record of a redirected flow carries: a Request
 * goes client → server, a Response server → client.
 */
export function accessLogRecord(ctx: ProxyContext, r: Redirect, type: 'Request' | 'Response', verdict: AccessLogRecord['Verdict']): AccessLogRecord {
  const client = ctx.endpoint(r.client);
  const server = ctx.endpoint(r.server);
  return {
    Type: type,
    Timestamp: ctx.timestamp(),
    ObservationPoint: r.direction === 'ingress' ? 'Ingress' : 'Egress',
    SourceEndpoint: type === 'Request' ? client : server,
    DestinationEndpoint: type === 'Request' ? server : client,
    IPVersion: 'IPv4',
    Verdict: verdict,
    TransportProtocol: r.proto,
  };
}

/** RFC 4122 version 4 UUID from the node's random source (Envoy's x-request-id). */
export function uuid4(rng: Rng): string {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i += 4) {
    const v = rng.u32();
    b[i] = v >>> 24;
    b[i + 1] = (v >>> 16) & 255;
    b[i + 2] = (v >>> 8) & 255;
    b[i + 3] = v & 255;
  }
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Go's http.CanonicalHeaderKey: `x-request-id` → `X-Request-Id`. */
export function canonicalHeaderKey(k: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) return k;
  return k.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/** RFC 3339 with nanoseconds, as Go's time.RFC3339Nano prints UTC (trailing zeros trimmed). */
export function rfc3339Nano(wallMs: number): string {
  const ms = Math.floor(wallMs);
  const iso = new Date(ms).toISOString(); // 2025-12-12T10:32:10.118Z
  const nanos = Math.round((wallMs - ms) * 1e6) + (ms % 1000) * 1e6;
  const frac = String(nanos).padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
