// L7 access-log records (monitor message type 129, MessageTypeAccessLog): what
// the proxies (HTTP, DNS) report for each request and response. Cilium's
// monitor agent sends them as one type byte followed by the JSON of
// pkg/proxy/accesslog.LogRecord; podpath writes them the same way into the
// node's cilium_events ring, after the usual 8-byte time envelope, so Hubble
// and `cilium monitor -t l7` read them beside the datapath's events.

import type { EventRing } from '../bpf/ringbuf.js';
import { EVENT_ENVELOPE } from './events.js';
import { MsgType } from './trace.js';

/** accesslog.EndpointInfo (the fields podpath fills). */
export interface AccessLogEndpoint {
  /** Endpoint ID; 0 for a peer that is not a local endpoint. */
  ID: number;
  IPv4: string;
  Port: number;
  Identity: number;
  /** Security labels (`k8s:app=backend`), when known. */
  Labels?: string[];
}

export interface AccessLogHttp {
  /** Status code; 0 on requests. */
  Code: number;
  Method: string;
  URL: string;
  Protocol: string;
  /** The request's headers, Go canonical keys (`X-Request-Id`), as http.Header. */
  Headers: Record<string, string[]>;
}

export interface AccessLogDns {
  /** With the trailing dot: `api.github.com.`. */
  Query: string;
  IPs?: string[];
  TTL?: number;
  CNAMEs?: string[];
  ObservationSource: 'proxy';
  RCode?: number;
  QTypes: number[];
  AnswerTypes?: number[];
}

/** accesslog.LogRecord, as the monitor agent encodes it. */
export interface AccessLogRecord {
  Type: 'Request' | 'Response' | 'Sample';
  /** RFC 3339 with nanoseconds (wall clock). */
  Timestamp: string;
  ObservationPoint: 'Ingress' | 'Egress';
  SourceEndpoint: AccessLogEndpoint;
  DestinationEndpoint: AccessLogEndpoint;
  IPVersion: 'IPv4';
  Verdict: 'Forwarded' | 'Denied' | 'Error' | 'Redirected';
  /** IP protocol number (6 TCP, 17 UDP). */
  TransportProtocol: number;
  /** The node the proxy runs on. */
  NodeAddressInfo?: { IPv4?: string };
  Info?: string;
  HTTP?: AccessLogHttp;
  DNS?: AccessLogDns;
  /**
   * podpath: request → response time the proxy measured, on responses. Hubble
   * derives the same from the X-Request-Id header; this saves it the lookup.
   */
  LatencyNs?: number;
}

export interface AccessLogEvent {
  type: 'access-log';
  /** Clock time (ms) the proxy logged it. */
  timeMs: number;
  /** SourceEndpoint.ID and DestinationEndpoint.ID, for `--from`/`--to`/`--related-to` filters. */
  source: number;
  dstId: number;
  record: AccessLogRecord;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Put one record into the events ring; false when the ring is full (the record is lost, as a perf buffer loses it). */
export function writeAccessLog(ring: EventRing, timeMs: number, record: AccessLogRecord): boolean {
  const json = encoder.encode(JSON.stringify(record));
  const o = ring.reserve(EVENT_ENVELOPE.SIZE + 1 + json.length);
  if (o < 0) return false;
  const d = ring.data;
  new DataView(d.buffer, d.byteOffset + o, EVENT_ENVELOPE.SIZE).setFloat64(EVENT_ENVELOPE.TIME_MS, timeMs, true);
  d[o + EVENT_ENVELOPE.SIZE] = MsgType.ACCESS_LOG;
  d.set(json, o + EVENT_ENVELOPE.SIZE + 1);
  ring.commit();
  return true;
}

/** Decode a record written by writeAccessLog (envelope included); null when it is not one. */
export function decodeAccessLog(data: Uint8Array, off: number, len: number): AccessLogEvent | null {
  if (len < EVENT_ENVELOPE.SIZE + 2 || data[off + EVENT_ENVELOPE.SIZE] !== MsgType.ACCESS_LOG) return null;
  const timeMs = new DataView(data.buffer, data.byteOffset + off, EVENT_ENVELOPE.SIZE).getFloat64(EVENT_ENVELOPE.TIME_MS, true);
  try {
    const record = JSON.parse(decoder.decode(data.subarray(off + EVENT_ENVELOPE.SIZE + 1, off + len))) as AccessLogRecord;
    return { type: 'access-log', timeMs, source: record.SourceEndpoint?.ID ?? 0, dstId: record.DestinationEndpoint?.ID ?? 0, record };
  } catch {
    return null;
  }
}

const DNS_TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 255: 'ANY' };

function labelsText(ep: AccessLogEndpoint): string {
  return `[${(ep.Labels ?? []).join(' ')}]`;
}

/**
 * The `cilium monitor` line of a record (LogRecordNotify.DumpInfo): direction
 * (`<-` ingress, `->` egress), type, protocol, endpoints, identities, verdict,
 * then `GET http://… => 200` for HTTP or the DNS query and answer.
 */
export function formatAccessLog(r: AccessLogRecord): string {
  const dir = r.ObservationPoint === 'Ingress' ? '<-' : r.ObservationPoint === 'Egress' ? '->' : '??';
  const proto = r.HTTP ? 'http' : r.DNS ? 'dns' : 'unknown-l7';
  const s = r.SourceEndpoint;
  const d = r.DestinationEndpoint;
  const words = r.Type === 'Response' ? ['to', 'from'] : ['from', 'to'];
  let line = `${dir} ${r.Type} ${proto} ${words[0]} ${s.ID} (${labelsText(s)}) ${words[1]} ${d.ID} (${labelsText(d)}), identity ${s.Identity}->${d.Identity}, verdict ${r.Verdict}`;
  if (r.HTTP) line += ` ${r.HTTP.Method} ${r.HTTP.URL} => ${r.HTTP.Code}`;
  if (r.DNS) {
    const types = r.DNS.QTypes.map((t) => DNS_TYPE_NAMES[t] ?? `TYPE${t}`).join(',');
    line += ` DNS ${r.DNS.ObservationSource}: ${r.DNS.Query} ${types}`;
    if (r.Type === 'Response') {
      line += ` TTL: ${r.DNS.TTL ?? 0} Answer: '${(r.DNS.IPs ?? []).join(',')}'`;
      if (r.DNS.CNAMEs?.length) line += ` CNAMEs: ${r.DNS.CNAMEs.join(',')}`;
    }
  }
  return line;
}
