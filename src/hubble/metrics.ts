// Hubble's Prometheus metrics (flow, drop, tcp, httpV2, policy,
// port-distribution handlers) counted from flows, plus the agent's datapath
// counters cilium_drop_count_total / cilium_forward_count_total read from the
// nodes' cilium_metrics maps at scrape time. Text exposition by prom-client.

import { Counter, Histogram, Registry } from 'prom-client';
import type { KeyValueMap } from '../bpf/types.js';
import { dropReasonText } from '../datapath/drop.js';
import { readMetrics } from '../datapath/dump.js';
import { TRACE_POINT_SHORT_NAMES } from './filter.js';
import { EventTypeNumber, L7FlowType, TrafficDirection, Verdict, VERDICT_NAMES, dropReasonName, type Flow } from './flow.js';

const DROP_MIN = 130;
const MATCH_NAMES = ['none', 'l3-only', 'l3-l4', 'l4-only', 'all', 'l3-proto', 'proto-only'];

function flowType(f: Flow): string {
  switch (f.event_type?.type) {
    case EventTypeNumber.TRACE:
      return 'Trace';
    case EventTypeNumber.DROP:
      return 'Drop';
    case EventTypeNumber.POLICY_VERDICT:
      return 'PolicyVerdict';
    case EventTypeNumber.CAPTURE:
      return 'Capture';
    case EventTypeNumber.L7:
      return 'L7';
    default:
      return 'Unknown';
  }
}

function protocolOf(f: Flow): string {
  if (f.l7) {
    if (f.l7.http) return 'HTTP';
    if (f.l7.dns) return 'DNS';
    return 'Unknown L7';
  }
  const l4 = f.l4;
  if (l4?.TCP) return 'TCP';
  if (l4?.UDP) return 'UDP';
  if (l4?.ICMPv4) return 'ICMPv4';
  if (l4?.ICMPv6) return 'ICMPv6';
  if (l4?.SCTP) return 'SCTP';
  return 'Unknown L4';
}

function subtypeOf(f: Flow): string {
  const t = f.event_type?.type;
  if (t === EventTypeNumber.TRACE) return TRACE_POINT_SHORT_NAMES[f.event_type?.sub_type ?? 0] ?? '';
  if (t === EventTypeNumber.L7) return f.l7?.http ? 'HTTP' : f.l7?.dns ? 'DNS' : '';
  return '';
}

/** The metrics of one Hubble instance (a registry of its own, so several clusters can coexist in a process). */
export class HubbleMetrics {
  readonly registry = new Registry();
  private readonly flows: Counter<string>;
  private readonly drops: Counter<string>;
  private readonly tcpFlags: Counter<string>;
  private readonly httpRequests: Counter<string>;
  private readonly httpDuration: Histogram<string>;
  private readonly policyVerdicts: Counter<string>;
  private readonly ports: Counter<string>;

  constructor(datapathMetrics: () => readonly KeyValueMap[] = () => []) {
    const registers = [this.registry];
    this.flows = new Counter({ name: 'hubble_flows_processed_total', help: 'Total number of flows processed', labelNames: ['protocol', 'subtype', 'type', 'verdict'], registers });
    this.drops = new Counter({ name: 'hubble_drop_total', help: 'Number of drops', labelNames: ['protocol', 'reason'], registers });
    this.tcpFlags = new Counter({ name: 'hubble_tcp_flags_total', help: 'TCP flag occurrences', labelNames: ['family', 'flag'], registers });
    this.httpRequests = new Counter({ name: 'hubble_http_requests_total', help: 'Count of HTTP requests', labelNames: ['method', 'protocol', 'reporter', 'status'], registers });
    this.httpDuration = new Histogram({ name: 'hubble_http_request_duration_seconds', help: 'Quantiles of HTTP request duration in seconds', labelNames: ['method', 'reporter'], registers });
    this.policyVerdicts = new Counter({ name: 'hubble_policy_verdicts_total', help: 'Number of policy verdicts', labelNames: ['action', 'direction', 'match'], registers });
    this.ports = new Counter({ name: 'hubble_port_distribution_total', help: 'Numbers of packets distributed by destination port', labelNames: ['port', 'protocol'], registers });

    const rows = (): ReturnType<typeof readMetrics> => datapathMetrics().flatMap((m) => readMetrics(m));
    new Counter({
      name: 'cilium_drop_count_total',
      help: 'Total dropped packets, tagged by drop reason and ingress/egress direction',
      labelNames: ['direction', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const r of rows()) if (r.reason >= DROP_MIN) this.inc({ direction: r.direction, reason: dropReasonText(r.reason) }, r.packets);
      },
    });
    new Counter({
      name: 'cilium_forward_count_total',
      help: 'Total forwarded packets, tagged by ingress/egress direction',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset();
        for (const r of rows()) if (r.reason < DROP_MIN) this.inc({ direction: r.direction }, r.packets);
      },
    });
  }

  /** Count one flow in every handler it concerns. */
  record(f: Flow): void {
    const protocol = protocolOf(f);
    const verdict = VERDICT_NAMES[f.verdict] ?? String(f.verdict);
    this.flows.inc({ protocol, subtype: subtypeOf(f), type: flowType(f), verdict });

    if (f.verdict === Verdict.DROPPED) this.drops.inc({ protocol, reason: dropReasonName(f.drop_reason_desc ?? 0) });

    const tcp = f.l4?.TCP?.flags;
    if (f.verdict === Verdict.FORWARDED && tcp && !f.l7) {
      const family = f.IP?.ipVersion === 2 ? 'IPv6' : 'IPv4';
      if (tcp.SYN) this.tcpFlags.inc({ family, flag: tcp.ACK ? 'SYN-ACK' : 'SYN' });
      if (tcp.FIN) this.tcpFlags.inc({ family, flag: 'FIN' });
      if (tcp.RST) this.tcpFlags.inc({ family, flag: 'RST' });
    }

    const http = f.l7?.http;
    if (http && f.l7?.type === L7FlowType.RESPONSE) {
      const reporter = f.traffic_direction === TrafficDirection.EGRESS ? 'client' : f.traffic_direction === TrafficDirection.INGRESS ? 'server' : 'unknown';
      this.httpRequests.inc({ method: http.method ?? '', protocol: http.protocol ?? '', reporter, status: String(http.code ?? 0) });
      this.httpDuration.observe({ method: http.method ?? '', reporter }, (f.l7.latency_ns ?? 0) / 1e9);
    }

    if (f.event_type?.type === EventTypeNumber.POLICY_VERDICT) {
      const skip = f.source?.identity === 1 || f.source?.identity === 4 || f.destination?.identity === 4;
      if (!skip) {
        this.policyVerdicts.inc({
          action: (VERDICT_NAMES[f.verdict] ?? '').toLowerCase(),
          direction: f.traffic_direction === TrafficDirection.INGRESS ? 'ingress' : f.traffic_direction === TrafficDirection.EGRESS ? 'egress' : 'unknown',
          match: MATCH_NAMES[f.policy_match_type ?? 0] ?? 'unknown',
        });
      }
    }

    if ((f.verdict === Verdict.FORWARDED || f.verdict === Verdict.REDIRECTED) && !f.is_reply) {
      const l4 = f.l4;
      if (l4?.ICMPv4 || l4?.ICMPv6) this.ports.inc({ port: '0', protocol });
      else {
        const p = l4?.TCP ?? l4?.UDP ?? l4?.SCTP;
        if (p?.destination_port) this.ports.inc({ port: String(p.destination_port), protocol: l4?.TCP ? 'TCP' : l4?.UDP ? 'UDP' : 'SCTP' });
      }
    }
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
