// `hubble observe` output: compact (one line per flow, initiator on the left),
// dict, table (Go tabwriter: widest cell + 3) and json/jsonpb (one
// GetFlowsResponse per line). Times are printed in UTC.

import { dropReasonText } from '../datapath/drop.js';
import {
  EventTypeNumber,
  RESERVED_IDENTITY_NAMES,
  TRAFFIC_DIRECTION_NAMES,
  VERDICT_NAMES,
  Verdict,
  flowResponseJson,
  flowToJson,
  formatTimestamp,
  type Endpoint,
  type Flow,
  type Policy,
  type Timestamp,
} from './flow.js';
import { TRACE_POINT_SHORT_NAMES } from './filter.js';

export type OutputFormat = 'compact' | 'dict' | 'json' | 'jsonpb' | 'table' | 'tab';

export const TIME_FORMATS = ['StampMilli', 'YearMonthDay', 'YearMonthDayHour', 'YearMonthDayHourMinute', 'RFC3339', 'RFC3339Milli', 'RFC3339Micro', 'RFC3339Nano', 'RFC1123Z'] as const;
export type TimeFormat = (typeof TIME_FORMATS)[number];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function p2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Go time layouts by Hubble's --time-format names, in UTC (fractions truncated, as Go does). */
export function formatTime(t: Timestamp, format: TimeFormat = 'StampMilli'): string {
  const d = new Date(t.seconds * 1000);
  const Y = String(d.getUTCFullYear()).padStart(4, '0');
  const M = p2(d.getUTCMonth() + 1);
  const D = p2(d.getUTCDate());
  const h = p2(d.getUTCHours());
  const m = p2(d.getUTCMinutes());
  const s = p2(d.getUTCSeconds());
  const ms = String(Math.floor(t.nanos / 1_000_000)).padStart(3, '0');
  switch (format) {
    case 'StampMilli': {
      const day = d.getUTCDate();
      return `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ' ' + day : day} ${h}:${m}:${s}.${ms}`;
    }
    case 'YearMonthDay':
      return `${Y}-${M}-${D}`;
    case 'YearMonthDayHour':
      return `${Y}-${M}-${D}T${h}Z`;
    case 'YearMonthDayHourMinute':
      return `${Y}-${M}-${D}T${h}:${m}Z`;
    case 'RFC3339':
      return `${Y}-${M}-${D}T${h}:${m}:${s}Z`;
    case 'RFC3339Milli':
      return `${Y}-${M}-${D}T${h}:${m}:${s}.${ms}Z`;
    case 'RFC3339Micro':
      return `${Y}-${M}-${D}T${h}:${m}:${s}.${String(Math.floor(t.nanos / 1000)).padStart(6, '0')}Z`;
    case 'RFC3339Nano': {
      const frac = String(t.nanos).padStart(9, '0').replace(/0+$/, '');
      return `${Y}-${M}-${D}T${h}:${m}:${s}${frac ? '.' + frac : ''}Z`;
    }
    case 'RFC1123Z':
      return `${DAYS[d.getUTCDay()]}, ${D} ${MONTHS[d.getUTCMonth()]} ${Y} ${h}:${m}:${s} +0000`;
  }
}

const MATCH_NAMES = ['none', 'L3-Only', 'L3-L4', 'L4-Only', 'all', 'L3-Proto', 'Proto-Only'];
const SOCK_POINT_NAMES = ['unknown', 'pre-xlate-fwd', 'post-xlate-fwd', 'pre-xlate-rev', 'post-xlate-rev'];

/** The TYPE column. */
export function flowTypeText(f: Flow): string {
  const l7 = f.l7;
  if (l7) {
    const type = ['unknown_l7_type', 'request', 'response', 'sample'][l7.type] ?? 'unknown_l7_type';
    if (l7.http) return `http-${type}`;
    if (l7.dns) return `dns-${type} ${l7.dns.observation_source ?? ''}`;
    return `l7-${type}`;
  }
  const et = f.event_type;
  switch (et?.type) {
    case EventTypeNumber.TRACE:
      return TRACE_POINT_SHORT_NAMES[et.sub_type ?? 0] ?? String(et.sub_type);
    case EventTypeNumber.DROP:
      return dropReasonText(et.sub_type ?? 0);
    case EventTypeNumber.POLICY_VERDICT:
      return `policy-verdict:${MATCH_NAMES[f.policy_match_type ?? 0] ?? 'unknown'} ${TRAFFIC_DIRECTION_NAMES[f.traffic_direction ?? 0]}`;
    case EventTypeNumber.TRACE_SOCK:
      return SOCK_POINT_NAMES[f.sock_xlate_point ?? 0] ?? 'unknown';
    default:
      return 'UNKNOWN';
  }
}

/** The VERDICT column (policy verdicts say ALLOWED / DENIED / AUDITED). */
export function verdictText(f: Flow): string {
  if (f.event_type?.type === EventTypeNumber.POLICY_VERDICT) {
    switch (f.verdict) {
      case Verdict.FORWARDED:
      case Verdict.REDIRECTED:
        return 'ALLOWED';
      case Verdict.DROPPED:
      case Verdict.ERROR:
        return 'DENIED';
      case Verdict.AUDIT:
        return 'AUDITED';
    }
  }
  return VERDICT_NAMES[f.verdict] ?? String(f.verdict);
}

function policyNames(list: readonly Policy[] | undefined): string {
  if (!list || !list.length) return '';
  return ' BY ' + list.map((p) => `${p.name} (${p.kind})`).join(', ');
}

function verdictWithPolicies(f: Flow): string {
  const v = verdictText(f);
  if (f.event_type?.type !== EventTypeNumber.POLICY_VERDICT) return v;
  const ingress = f.traffic_direction === 1;
  if (v === 'ALLOWED') return v + policyNames(ingress ? f.ingress_allowed_by : f.egress_allowed_by);
  if (v === 'DENIED' || v === 'AUDITED') return v + policyNames(ingress ? f.ingress_denied_by : f.egress_denied_by);
  return v;
}

export function identityText(id: number | undefined): string {
  const n = id ?? 0;
  const name = RESERVED_IDENTITY_NAMES[n];
  return name ? `(${name})` : `(ID:${n})`;
}

function portOf(f: Flow, source: boolean): number {
  const p = f.l4?.TCP ?? f.l4?.UDP ?? f.l4?.SCTP;
  if (!p) return 0;
  return (source ? p.source_port : p.destination_port) ?? 0;
}

/** SRC/DST as printed: ns/pod, ns/service, DNS names or the IP; `:port` unless 0; MACs without IP. */
export function hostText(f: Flow, source: boolean, translate = true): string {
  const ep: Endpoint | undefined = source ? f.source : f.destination;
  const svc = source ? f.source_service : f.destination_service;
  const names = source ? f.source_names : f.destination_names;
  let host: string;
  if (!f.IP) host = (source ? f.ethernet?.source : f.ethernet?.destination) ?? '';
  else {
    host = source ? f.IP.source : f.IP.destination;
    if (translate) {
      const ns = ep?.namespace || svc?.namespace || '';
      const join = (a: string, b: string): string => (a ? `${a}/${b}` : b);
      if (ep?.pod_name) host = join(ns, ep.pod_name);
      else if (svc?.name) host = join(ns, svc.name);
      else if (names && names.length) host = names.join(',');
    }
  }
  const port = portOf(f, source);
  if (port) return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return host;
}

function summaryText(f: Flow): string {
  let s = f.Summary ?? '';
  if (f.auth_type) s += `; Auth: ${['DISABLED', 'SPIRE', 'TEST_ALWAYS_FAIL'][f.auth_type] ?? f.auth_type}`;
  return s;
}

export interface PrinterOptions {
  output?: OutputFormat;
  timeFormat?: TimeFormat;
  printNodeName?: boolean;
  printPolicyNames?: boolean;
  /** --numeric / --ip-translation=false */
  numeric?: boolean;
  /** HUBBLE_COMPAT=legacy-json-output: the bare Flow per line. */
  legacyJson?: boolean;
  /** --field-mask (JSON only): dotted proto paths to keep, e.g. `source.pod_name,verdict`. */
  fieldMask?: string[];
  write: (s: string) => void;
}

/** Compact line for one flow (newline included). */
export function compactLine(f: Flow, o: Omit<PrinterOptions, 'write'> = {}): string {
  let src = hostText(f, true, !o.numeric);
  let dst = hostText(f, false, !o.numeric);
  let srcId = identityText(f.source?.identity);
  let dstId = identityText(f.destination?.identity);
  let arrow = '->';
  if (f.is_reply === undefined) arrow = '<>';
  else if (f.is_reply) {
    [src, dst] = [dst, src];
    [srcId, dstId] = [dstId, srcId];
    arrow = '<-';
  }
  const node = o.printNodeName ? ` [${f.node_name}]` : '';
  const verdict = o.printPolicyNames ? verdictWithPolicies(f) : verdictText(f);
  return `${formatTime(f.time, o.timeFormat)}${node}: ${src} ${srcId} ${arrow} ${dst} ${dstId} ${flowTypeText(f)} ${verdict} (${summaryText(f)})\n`;
}

/** Go's text/tabwriter with minwidth 2, padding 3, space fill: each column as wide as its widest cell + 3. */
export function tabwrite(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 2, [...c].length + 3)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]! - ([...c].length - c.length)) : c)).join('') + '\n').join('');
}

/** Keep only the masked paths of a flow's JSON (key order kept, Go's HTML escaping kept). */
export function maskJson(flowJson: string, paths: readonly string[]): string {
  const src = JSON.parse(flowJson) as Record<string, unknown>;
  const tree: Record<string, unknown> = {};
  for (const p of paths) {
    let t = tree;
    const parts = p.split('.');
    parts.forEach((k, i) => {
      if (i === parts.length - 1) t[k] = true;
      else t = (t[k] = typeof t[k] === 'object' ? t[k] : {}) as Record<string, unknown>;
    });
  }
  const pick = (o: Record<string, unknown>, m: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      const sel = m[k];
      if (sel === true) out[k] = v;
      else if (sel && typeof sel === 'object' && v && typeof v === 'object' && !Array.isArray(v)) {
        const sub = pick(v as Record<string, unknown>, sel as Record<string, unknown>);
        if (Object.keys(sub).length) out[k] = sub;
      }
    }
    return out;
  };
  return JSON.stringify(pick(src, tree)).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

export class FlowPrinter {
  private readonly o: PrinterOptions;
  private readonly rows: string[][] = [];
  private count = 0;

  constructor(o: PrinterOptions) {
    this.o = o;
  }

  get format(): OutputFormat {
    return this.o.output ?? 'compact';
  }

  flow(f: Flow): void {
    const o = this.o;
    switch (this.format) {
      case 'json':
      case 'jsonpb':
        if (o.fieldMask?.length) {
          const masked = maskJson(flowToJson(f), o.fieldMask);
          o.write((o.legacyJson ? masked : `{"flow":${masked},"node_name":${JSON.stringify(f.node_name)},"time":"${formatTimestamp(f.time)}"}`) + '\n');
        } else o.write((o.legacyJson ? flowToJson(f) : flowResponseJson(f)) + '\n');
        break;
      case 'dict': {
        const lines = [`  TIMESTAMP: ${formatTime(f.time, o.timeFormat)}`];
        if (o.printNodeName) lines.push(`       NODE: ${f.node_name}`);
        lines.push(`     SOURCE: ${hostText(f, true, !o.numeric)}`, `DESTINATION: ${hostText(f, false, !o.numeric)}`, `       TYPE: ${flowTypeText(f)}`, `    VERDICT: ${o.printPolicyNames ? verdictWithPolicies(f) : verdictText(f)}`, `    SUMMARY: ${summaryText(f)}`);
        o.write((this.count ? '------------\n' : '') + lines.join('\n') + '\n');
        break;
      }
      case 'table':
      case 'tab': {
        const row = [formatTime(f.time, o.timeFormat)];
        if (o.printNodeName) row.push(f.node_name);
        row.push(hostText(f, true, !o.numeric), hostText(f, false, !o.numeric), flowTypeText(f), o.printPolicyNames ? verdictWithPolicies(f) : verdictText(f), summaryText(f));
        this.rows.push(row);
        break;
      }
      default:
        o.write(compactLine(f, o));
    }
    this.count++;
  }

  /** End of stream: the table is printed now (tabwriter buffers until flushed). */
  close(): void {
    if ((this.format !== 'table' && this.format !== 'tab') || !this.rows.length) return;
    const header = this.o.printNodeName ? ['TIMESTAMP', 'NODE', 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY'] : ['TIMESTAMP', 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY'];
    this.o.write(tabwrite([header, ...this.rows]));
  }
}
