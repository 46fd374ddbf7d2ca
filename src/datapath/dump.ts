// `cilium bpf ... list` text for the maps, decoded from their bytes
// (1.16/1.17 formats, reference §3.4 and §7).

import { readU16BE, readU32BE } from '../bpf/bytes.js';
import type { KeyValueMap } from '../bpf/types.js';
import { ipv4ToString } from '../packet/ip.js';
import { IpProto } from '../packet/ipv4.js';
import { CT_ENTRY, CT_FLAG_NAMES, CT_TUPLE, TupleFlags } from './ct.js';

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
