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

// ---- what Hubble makes of a record (the Layer7 part of a flow) ---------------------------------

/** flow.l7 as Hubble's seven parser fills it (enum numbers as in the proto). */
export interface HubbleLayer7 {
  /** 1 REQUEST, 2 RESPONSE, 3 SAMPLE. */
  type: number;
  latency_ns?: number;
  http?: { code?: number; method: string; url: string; protocol: string; headers: { key: string; value: string }[] };
  dns?: { query: string; ips?: string[]; ttl?: number; cnames?: string[]; observation_source: string; rcode?: number; qtypes: string[]; rrtypes?: string[] };
}

const DNS_RCODE_TEXT = ['No Error', 'Format Error', 'Server Failure', 'Non-Existent Domain', 'Not Implemented', 'Query Refused'];

/**
 * A record as Hubble shows it: flow.l7, the verdict (Forwarded → FORWARDED,
 * Denied → DROPPED, Error → ERROR, Redirected → REDIRECTED), the traffic
 * direction, is_reply and the compact summary (reference §1.4, §1.6).
 */
export function hubbleLayer7(r: AccessLogRecord): { l7: HubbleLayer7; verdict: 'FORWARDED' | 'DROPPED' | 'ERROR' | 'REDIRECTED'; trafficDirection: 'INGRESS' | 'EGRESS'; isReply: boolean; summary: string } {
  const isReply = r.Type === 'Response';
  const l7: HubbleLayer7 = { type: r.Type === 'Request' ? 1 : r.Type === 'Response' ? 2 : 3 };
  if (isReply && r.LatencyNs) l7.latency_ns = r.LatencyNs;
  let summary = '';
  if (r.HTTP) {
    const h = r.HTTP;
    const headers: { key: string; value: string }[] = [];
    for (const k of Object.keys(h.Headers).sort()) for (const v of h.Headers[k] ?? []) headers.push({ key: k, value: v });
    l7.http = { ...(isReply ? { code: h.Code } : {}), method: h.Method, url: h.URL, protocol: h.Protocol, headers };
    summary = isReply ? `${h.Protocol} ${h.Code} ${Math.floor((r.LatencyNs ?? 0) / 1e6)}ms (${h.Method} ${h.URL})` : `${h.Protocol} ${h.Method} ${h.URL}`;
  } else if (r.DNS) {
    const d = r.DNS;
    const qtypes = d.QTypes.map((t) => DNS_TYPE_NAMES[t] ?? `TYPE${t}`);
    if (isReply) {
      l7.dns = { query: d.Query, ...(d.IPs?.length ? { ips: d.IPs } : {}), ...(d.TTL ? { ttl: d.TTL } : {}), ...(d.CNAMEs?.length ? { cnames: d.CNAMEs } : {}), observation_source: d.ObservationSource, ...(d.RCode ? { rcode: d.RCode } : {}), qtypes, ...(d.AnswerTypes?.length ? { rrtypes: d.AnswerTypes.map((t) => DNS_TYPE_NAMES[t] ?? `TYPE${t}`) } : {}) };
      const tail = `TTL: ${d.TTL ?? 0} (Proxy ${d.Query} ${qtypes.join(',')})`;
      summary = d.RCode ? `DNS Answer RCode: ${DNS_RCODE_TEXT[d.RCode] ?? d.RCode} ${tail}` : `DNS Answer "${(d.IPs ?? []).join(',')}"${d.CNAMEs?.length ? ` CNAMEs: "${d.CNAMEs.join(',')}"` : ''} ${tail}`;
    } else {
      l7.dns = { query: d.Query, observation_source: d.ObservationSource, qtypes };
      summary = `DNS Query ${d.Query} ${qtypes.join(',')}`;
    }
  }
  const verdict = r.Verdict === 'Denied' ? 'DROPPED' : r.Verdict === 'Error' ? 'ERROR' : r.Verdict === 'Redirected' ? 'REDIRECTED' : 'FORWARDED';
  return { l7, verdict, trafficDirection: r.ObservationPoint === 'Ingress' ? 'INGRESS' : 'EGRESS', isReply, summary };
}
