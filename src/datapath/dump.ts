// `cilium bpf ... list` text for the maps, decoded from their bytes
// (1.16/1.17 formats, reference §3.4 and §7).

import { readU16BE, readU32BE } from '../bpf/bytes.js';
import type { KeyValueMap } from '../bpf/types.js';
import { ipv4ToString } from '../packet/ip.js';
import { IpProto } from '../packet/ipv4.js';
import { CT_ENTRY, CT_FLAG_NAMES, CT_TUPLE, TupleFlags } from './ct.js';
import { macToString, readMac } from '../packet/mac.js';
import { dropReasonText, sourceFileName } from './drop.js';
import {
  ENDPOINT_INFO,
  IPCACHE_KEY,
  IPCACHE_PREFIX_STATIC_BITS,
  LB4_BACKEND,
  LB4_KEY,
  LB4_REVNAT,
  LB4_SERVICE,
  METRICS_KEY,
  METRICS_VALUE,
  POLICY_ENTRY,
  POLICY_KEY,
  POLICY_PREFIX,
  PolicyEntryFlags,
  REMOTE_ENDPOINT_INFO,
  TUNNEL_KEY,
  TUNNEL_VALUE,
} from './maps.js';
import { tabwrite } from '../util/tabwriter.js';

function protoName(p: number): string {
  switch (p) {
    case IpProto.TCP:
      return 'TCP';
    case IpProto.UDP:
      return 'UDP';
    case IpProto.ICMP:
      return 'ICMP';
    case IpProto.SCTP:
      return 'SCTP';
    default:
      return `${p}`;
  }
}

const hex2 = (n: number): string => '0x' + n.toString(16).padStart(2, '0');
const hex4 = (n: number): string => '0x' + n.toString(16).padStart(4, '0');

export interface CtListOptions {
  /** -d / --time-diff: show remaining seconds next to expires. */
  timeDiff?: boolean;
  /** BPF monotonic seconds now (for --time-diff). */
  nowSec?: number;
}

/** One CT entry as `cilium bpf ct list global` prints it (every line ends with a space). */
export function formatCtEntry(keys: Uint8Array, keyOff: number, map: KeyValueMap, valueOff: number, opts: CtListOptions = {}): string {
  const daddr = readU32BE(keys, keyOff + CT_TUPLE.DADDR);
  const saddr = readU32BE(keys, keyOff + CT_TUPLE.SADDR);
  const dport = readU16BE(keys, keyOff + CT_TUPLE.DPORT);
  const sport = readU16BE(keys, keyOff + CT_TUPLE.SPORT);
  const proto = keys[keyOff + CT_TUPLE.NEXTHDR];
  const tflags = keys[keyOff + CT_TUPLE.FLAGS];
  const dir = tflags & TupleFlags.SERVICE ? 'SVC' : tflags & TupleFlags.IN ? 'IN' : 'OUT';
  const related = tflags & TupleFlags.RELATED ? 'related ' : '';
  const v = map.view;
  const o = valueOff;
  const lifetime = v.getUint32(o + CT_ENTRY.LIFETIME, true);
  const flags = v.getUint16(o + CT_ENTRY.FLAGS, true);
  const names = CT_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  const u64 = (at: number): number => v.getUint32(o + at, true) + v.getUint32(o + at + 4, true) * 0x1_0000_0000;
  const expires = opts.timeDiff && opts.nowSec !== undefined ? `expires=${lifetime} (remaining: ${lifetime - opts.nowSec} sec(s))` : `expires=${lifetime}`;
  return (
    `${protoName(proto)} ${dir} ${ipv4ToString(saddr)}:${sport} -> ${ipv4ToString(daddr)}:${dport} ${related}${expires} ` +
    `Packets=${u64(CT_ENTRY.PACKETS)} Bytes=${u64(CT_ENTRY.BYTES)} ` +
    `RxFlagsSeen=${hex2(map.values[o + CT_ENTRY.RX_FLAGS_SEEN])} LastRxReport=${v.getUint32(o + CT_ENTRY.LAST_RX_REPORT, true)} ` +
    `TxFlagsSeen=${hex2(map.values[o + CT_ENTRY.TX_FLAGS_SEEN])} LastTxReport=${v.getUint32(o + CT_ENTRY.LAST_TX_REPORT, true)} ` +
    `Flags=${hex4(flags)} [ ${names.length ? names.join(' ') + ' ' : ''}] ` +
    `RevNAT=${v.getUint16(o + CT_ENTRY.REV_NAT_INDEX, false)} SourceSecurityID=${v.getUint32(o + CT_ENTRY.SRC_SEC_ID, true)} ` +
    `IfIndex=${v.getUint16(o + CT_ENTRY.IFINDEX, true)} BackendID=${u64(CT_ENTRY.BACKEND_ID)} `
  );
}

/** Every entry of the TCP map, a blank line, every entry of the any map, a blank line. */
export function formatCtList(tcp: KeyValueMap, any: KeyValueMap, opts: CtListOptions = {}): string {
  const out: string[] = [];
  for (const m of [tcp, any]) {
    const lines: string[] = [];
    m.forEach((keys, keyOff, valueOff) => lines.push(formatCtEntry(keys, keyOff, m, valueOff, opts)));
    out.push(...lines, '');
  }
  return out.join('\n') + '\n';
}

// ---- the other `cilium bpf ... list` tables ----------------------------------


const u32le = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u16le = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u64le = (b: Uint8Array, o: number): number => u32le(b, o) + u32le(b, o + 4) * 0x1_0000_0000;

/** `cilium bpf endpoint list`: cilium_lxc (host addresses show as localhost). */
export function formatBpfEndpointList(lxc: KeyValueMap, hostIps: number[]): string {
  const rows: [number, string[]][] = [];
  lxc.forEach((keys, k, v) => {
    const ip = readU32BE(keys, k);
    const d = lxc.values;
    const id = u16le(d, v + ENDPOINT_INFO.LXC_ID);
    const sec = u32le(d, v + ENDPOINT_INFO.SEC_ID);
    const flags = u32le(d, v + ENDPOINT_INFO.FLAGS);
    const ifindex = u32le(d, v + ENDPOINT_INFO.IFINDEX);
    const info = `id=${String(id).padEnd(5)} sec_id=${String(sec).padEnd(5)} flags=0x${flags.toString(16).toUpperCase().padStart(4, '0')} ifindex=${String(ifindex).padEnd(3)} mac=${macToString(readMac(d, v + ENDPOINT_INFO.MAC))} nodemac=${macToString(readMac(d, v + ENDPOINT_INFO.NODE_MAC))}`;
    rows.push([ip, [`${ipv4ToString(ip)}:0`, info]]);
  });
  for (const ip of hostIps) rows.push([ip, [`${ipv4ToString(ip)}:0`, '(localhost)']]);
  rows.sort((a, b) => a[0] - b[0]);
  return tabwrite([['IP ADDRESS', 'LOCAL ENDPOINT INFO'], ...rows.map((r) => r[1])], { trailingTab: false });
}

/** `cilium bpf ipcache list`. */
export function formatIpcacheList(ipcache: KeyValueMap): string {
  const rows: [number, number, string[]][] = [];
  ipcache.forEach((keys, k, v) => {
    const prefix = u32le(keys, k + IPCACHE_KEY.PREFIXLEN) - IPCACHE_PREFIX_STATIC_BITS;
    const ip = readU32BE(keys, k + IPCACHE_KEY.IP);
    const d = ipcache.values;
    const id = u32le(d, v + REMOTE_ENDPOINT_INFO.SEC_IDENTITY);
    const tunnel = readU32BE(d, v + REMOTE_ENDPOINT_INFO.TUNNEL_ENDPOINT);
    const flags = d[v + REMOTE_ENDPOINT_INFO.FLAGS]! & 1 ? 'skiptunnel' : '<none>';
    rows.push([ip, prefix, [`${ipv4ToString(ip)}/${prefix}`, `identity=${id} encryptkey=${d[v + REMOTE_ENDPOINT_INFO.KEY]} tunnelendpoint=${ipv4ToString(tunnel)}, flags=${flags}`]]);
  });
  rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return tabwrite([['IP PREFIX/ADDRESS', 'IDENTITY'], ...rows.map((r) => r[2])], { trailingTab: false });
}

/** `cilium bpf tunnel list`. */
export function formatTunnelList(tunnel: KeyValueMap): string {
  const rows: string[][] = [];
  tunnel.forEach((keys, k, v) => rows.push([ipv4ToString(readU32BE(keys, k + TUNNEL_KEY.IP)), `${ipv4ToString(readU32BE(tunnel.values, v + TUNNEL_VALUE.IP))}:0`]));
  rows.sort((a, b) => a[0]!.localeCompare(b[0]!, 'en', { numeric: true }));
  return tabwrite([['TUNNEL', 'VALUE'], ...rows], { trailingTab: false });
}

/** `cilium bpf lb list`: one row per frontend slot (1.16+ key strings carry the slot). */
export function formatLbList(services: KeyValueMap, backends: KeyValueMap): string {
  const backendAddr = new Map<number, string>();
  backends.forEach((keys, k, v) => backendAddr.set(u32le(keys, k), `${ipv4ToString(readU32BE(backends.values, v + LB4_BACKEND.ADDRESS))}:${readU16BE(backends.values, v + LB4_BACKEND.PORT)}`));
  const rows: { vip: number; port: number; slot: number; cells: string[] }[] = [];
  services.forEach((keys, k, v) => {
    const vip = readU32BE(keys, k + LB4_KEY.ADDRESS);
    const port = readU16BE(keys, k + LB4_KEY.DPORT);
    const slot = u16le(keys, k + LB4_KEY.BACKEND_SLOT);
    const d = services.values;
    const revnat = u16le(d, v + LB4_SERVICE.REV_NAT_INDEX);
    const frontend = `${ipv4ToString(vip)}:${port} (${slot})`;
    const backend = slot === 0 ? `0.0.0.0:0 (${revnat}) (0) [ClusterIP, non-routable]` : `${backendAddr.get(u32le(d, v + LB4_SERVICE.BACKEND_ID)) ?? '0.0.0.0:0'} (${revnat}) (${slot})`;
    rows.push({ vip, port, slot, cells: [frontend, backend] });
  });
  rows.sort((a, b) => a.vip - b.vip || a.port - b.port || a.slot - b.slot);
  return tabwrite([['SERVICE ADDRESS', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)'], ...rows.map((r) => r.cells)], { trailingTab: false });
}

/** cilium_lb4_reverse_nat as `cilium bpf lb list --revnat`. */
export function formatRevNatList(revnat: KeyValueMap): string {
  const rows: [number, string[]][] = [];
  revnat.forEach((keys, k, v) => {
    const id = u16le(keys, k);
    rows.push([id, [String(id), `${ipv4ToString(readU32BE(revnat.values, v + LB4_REVNAT.ADDRESS))}:${readU16BE(revnat.values, v + LB4_REVNAT.PORT)}`]]);
  });
  rows.sort((a, b) => a[0] - b[0]);
  return tabwrite([['ID', 'SERVICE ADDRESS'], ...rows.map((r) => r[1])], { trailingTab: false });
}

const METRIC_DIRECTIONS = ['UNKNOWN', 'INGRESS', 'EGRESS', 'SERVICE'];

export interface MetricsRow {
  reason: number;
  direction: string;
  packets: number;
  bytes: number;
  line: number;
  file: number;
}

/** cilium_metrics decoded (per-CPU values summed). */
export function readMetrics(metrics: KeyValueMap): MetricsRow[] {
  const rows: MetricsRow[] = [];
  metrics.forEach((keys, k, v) => {
    rows.push({
      reason: keys[k + METRICS_KEY.REASON]!,
      direction: METRIC_DIRECTIONS[keys[k + METRICS_KEY.DIR]! & 3]!,
      line: u16le(keys, k + METRICS_KEY.LINE),
      file: keys[k + METRICS_KEY.FILE]!,
      packets: u64le(metrics.values, v + METRICS_VALUE.COUNT),
      bytes: u64le(metrics.values, v + METRICS_VALUE.BYTES),
    });
  });
  return rows;
}

/** `cilium bpf metrics list`: rows sorted by their cells compared as strings, as Cilium does. */
export function formatMetricsList(metrics: KeyValueMap): string | null {
  const rows = readMetrics(metrics).map((r) => [dropReasonText(r.reason), r.direction, String(r.packets), String(r.bytes), String(r.line), sourceFileName(r.file)]);
  if (rows.length === 0) return null;
  rows.sort((a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
    return 0;
  });
  return tabwrite([['REASON', 'DIRECTION', 'PACKETS', 'BYTES', 'LINE', 'FILE'], ...rows], { trailingTab: false });
}

/** `cilium bpf policy get <EPID>`; labels of each identity come from the agent. */
export function formatBpfPolicyGet(policy: KeyValueMap, labelsOf: (identity: number) => string[], numeric = false): string {
  const rows: { sortKey: string; cells: string[][] }[] = [];
  policy.forEach((keys, k, v) => {
    const d = policy.values;
    const identity = u32le(keys, k + POLICY_KEY.SEC_LABEL);
    const egress = keys[k + POLICY_KEY.EGRESS] === 1;
    const proto = keys[k + POLICY_KEY.PROTOCOL]!;
    const port = readU16BE(keys, k + POLICY_KEY.DPORT);
    const prefixLen = d[v + POLICY_ENTRY.LPM_PREFIX_LEN]!;
    const deny = (d[v + POLICY_ENTRY.FLAGS]! & PolicyEntryFlags.DENY) !== 0;
    const proxy = readU16BE(d, v + POLICY_ENTRY.PROXY_PORT);
    const protoName = proto === 6 ? 'TCP' : proto === 17 ? 'UDP' : proto === 132 ? 'SCTP' : proto === 1 ? 'ICMP' : String(proto);
    const portProto = prefixLen <= POLICY_PREFIX.ID_DIR ? 'ANY' : prefixLen === POLICY_PREFIX.PROTO ? `ANY/${protoName}` : `${port}/${protoName}`;
    const labels = numeric ? [String(identity)] : identity === 0 ? ['reserved:unknown'] : labelsOf(identity);
    const first = [deny ? 'Deny' : 'Allow', egress ? 'Egress' : 'Ingress', labels[0] ?? String(identity), portProto, proxy ? String(proxy) : 'NONE', 'disabled', String(u64le(d, v + POLICY_ENTRY.BYTES)), String(u64le(d, v + POLICY_ENTRY.PACKETS)), String(prefixLen - POLICY_PREFIX.ID_DIR)];
    const more = labels.slice(1).map((l) => ['', '', l, '', '', '', '', '', '']);
    rows.push({ sortKey: `${egress ? 1 : 0}:${String(identity).padStart(10, '0')}:${String(port).padStart(5, '0')}:${proto}`, cells: [first, ...more] });
  });
  rows.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  const head = ['POLICY', 'DIRECTION', numeric ? 'IDENTITY' : 'LABELS (source:key[=value])', 'PORT/PROTO', 'PROXY PORT', 'AUTH TYPE', 'BYTES', 'PACKETS', 'PREFIX'];
  return tabwrite([head, ...rows.flatMap((r) => r.cells)]);
}
