// Reading cilium_events: decode each record into a typed event, and print it
// the way `cilium monitor` does at INFO verbosity (pkg/monitor/format).

import { readU16BE, readU32BE } from '../bpf/bytes.js';
import { IpProto } from '../packet/ipv4.js';
import { tcpFlagsToString } from '../packet/tcp.js';
import { icmpv4TypeCodeName } from '../packet/icmpv4.js';
import type { EventRing } from '../bpf/ringbuf.js';
import { ipv4ToString } from '../packet/ip.js';
import { connectionSummary, dissectFrame } from '../packet/dissect.js';
import { decodeAccessLog, formatAccessLog, type AccessLogEvent } from './accesslog.js';
import { dropReasonText, sourceFileName } from './drop.js';
import {
  DROP_NOTIFY,
  EVENT_ENVELOPE,
  NOTIFY_HDR,
  POLICY_VERDICT_NOTIFY,
  PV_AUDITED_SHIFT,
  PV_MATCH_SHIFT,
  TRACE_NOTIFY,
  TRACE_SOCK_NOTIFY,
} from './events.js';
import { identityName } from './identity.js';
import { ctStateName, MsgType, ObsPoint, obsPointName, policyMatchName, sockXlatePointName } from './trace.js';

interface EventBase {
  /** Clock time (ms) the program emitted it. */
  timeMs: number;
  /** Endpoint ID of the emitting program (0 for host/overlay programs). */
  source: number;
  hash: number;
  origLen: number;
  /** The first bytes of the packet as captured. */
  packet: Uint8Array;
}

export interface TraceEvent extends EventBase {
  type: 'trace';
  obsPoint: number;
  srcLabel: number;
  dstLabel: number;
  dstId: number;
  /** CT state (trace.ts CtState), 0x80 = encrypted. */
  reason: number;
  ifindex: number;
  origIp: number;
}

export interface DropEvent extends EventBase {
  type: 'drop';
  reason: number;
  srcLabel: number;
  dstLabel: number;
  dstId: number;
  line: number;
  file: number;
  extError: number;
  ifindex: number;
}

export interface PolicyVerdictEvent extends EventBase {
  type: 'policy-verdict';
  remoteLabel: number;
  verdict: number;
  dport: number;
  proto: number;
  /** PolicyDir: 1 ingress, 2 egress */
  direction: number;
  matchType: number;
  audited: boolean;
  cookie: number;
}

export interface TraceSockEvent {
  type: 'trace-sock';
  timeMs: number;
  xlatePoint: number;
  dstIp: number;
  dstPort: number;
  proto: number;
  sockCookie: number;
  cgroupId: number;
}

export type { AccessLogEvent };

export type DatapathEvent = TraceEvent | DropEvent | PolicyVerdictEvent | TraceSockEvent | AccessLogEvent;

/** Decode one record (envelope + notify struct + packet bytes); null for unknown types. */
export function decodeEvent(data: Uint8Array, off: number, len: number): DatapathEvent | null {
  // Access logs from the L7 proxy: one type byte and the record's JSON.
  if (len > EVENT_ENVELOPE.SIZE && data[off + EVENT_ENVELOPE.SIZE] === MsgType.ACCESS_LOG) return decodeAccessLog(data, off, len);
  if (len < EVENT_ENVELOPE.SIZE + NOTIFY_HDR.SIZE) return null;
  const v = new DataView(data.buffer, data.byteOffset + off, len);
  const timeMs = v.getFloat64(EVENT_ENVELOPE.TIME_MS, true);
  const s = EVENT_ENVELOPE.SIZE;
  const type = data[off + s + NOTIFY_HDR.TYPE];
  if (type === MsgType.TRACE_SOCK) {
    return {
      type: 'trace-sock',
      timeMs,
      xlatePoint: data[off + s + TRACE_SOCK_NOTIFY.XLATE_POINT],
      dstIp: readU32BE(data, off + s + TRACE_SOCK_NOTIFY.DST_IP),
      dstPort: v.getUint16(s + TRACE_SOCK_NOTIFY.DST_PORT, true),
      proto: data[off + s + TRACE_SOCK_NOTIFY.L4_PROTO],
      sockCookie: v.getUint32(s + TRACE_SOCK_NOTIFY.SOCK_COOKIE, true),
      cgroupId: v.getUint32(s + TRACE_SOCK_NOTIFY.CGROUP_ID, true),
    };
  }
  const subtype = data[off + s + NOTIFY_HDR.SUBTYPE];
  const base = {
    timeMs,
    source: v.getUint16(s + NOTIFY_HDR.SOURCE, true),
    hash: v.getUint32(s + NOTIFY_HDR.HASH, true),
    origLen: v.getUint32(s + NOTIFY_HDR.LEN_ORIG, true),
  };
  const cap = v.getUint16(s + NOTIFY_HDR.LEN_CAP, true);
  const packetAt = (structSize: number): Uint8Array => data.slice(off + s + structSize, off + s + structSize + cap);
  switch (type) {
    case MsgType.TRACE:
      return {
        type: 'trace',
        ...base,
        packet: packetAt(TRACE_NOTIFY.SIZE),
        obsPoint: subtype,
        srcLabel: v.getUint32(s + TRACE_NOTIFY.SRC_LABEL, true),
        dstLabel: v.getUint32(s + TRACE_NOTIFY.DST_LABEL, true),
        dstId: v.getUint16(s + TRACE_NOTIFY.DST_ID, true),
        reason: data[off + s + TRACE_NOTIFY.REASON],
        ifindex: v.getUint32(s + TRACE_NOTIFY.IFINDEX, true),
        origIp: readU32BE(data, off + s + TRACE_NOTIFY.ORIG_IP),
      };
    case MsgType.DROP:
      return {
        type: 'drop',
        ...base,
        packet: packetAt(DROP_NOTIFY.SIZE),
        reason: subtype,
        srcLabel: v.getUint32(s + DROP_NOTIFY.SRC_LABEL, true),
        dstLabel: v.getUint32(s + DROP_NOTIFY.DST_LABEL, true),
        dstId: v.getUint32(s + DROP_NOTIFY.DST_ID, true),
        line: v.getUint16(s + DROP_NOTIFY.LINE, true),
        file: data[off + s + DROP_NOTIFY.FILE],
        extError: v.getInt8(s + DROP_NOTIFY.EXT_ERROR),
        ifindex: v.getUint32(s + DROP_NOTIFY.IFINDEX, true),
      };
    case MsgType.POLICY_VERDICT: {
      const flags = data[off + s + POLICY_VERDICT_NOTIFY.FLAGS];
      return {
        type: 'policy-verdict',
        ...base,
        packet: packetAt(POLICY_VERDICT_NOTIFY.SIZE),
        remoteLabel: v.getUint32(s + POLICY_VERDICT_NOTIFY.REMOTE_LABEL, true),
        verdict: v.getInt32(s + POLICY_VERDICT_NOTIFY.VERDICT, true),
        dport: v.getUint16(s + POLICY_VERDICT_NOTIFY.DST_PORT, true),
        proto: data[off + s + POLICY_VERDICT_NOTIFY.PROTO],
        direction: flags & 3,
        matchType: (flags >> PV_MATCH_SHIFT) & 7,
        audited: ((flags >> PV_AUDITED_SHIFT) & 1) === 1,
        cookie: v.getUint32(s + POLICY_VERDICT_NOTIFY.COOKIE, true),
      };
    }
    default:
      return null;
  }
}

/** Take every pending event out of the ring, decoded. */
export function drainEvents(ring: EventRing): DatapathEvent[] {
  const out: DatapathEvent[] = [];
  ring.consume((data, off, len) => {
    const ev = decodeEvent(data, off, len);
    if (ev) out.push(ev);
  });
  return out;
}

export interface MonitorFormatOptions {
  /** -n: identities as numbers. */
  numeric?: boolean;
  /** Resolve an ifindex to a device name where known. */
  ifName?: (ifindex: number) => string | undefined;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

/**
 * GetConnectionSummary over the captured prefix of a packet. Events carry at
 * most 128 bytes, so the IP length usually exceeds the capture: read headers
 * as far as they were captured instead of validating the whole datagram.
 */
function conn(packet: Uint8Array): string {
  const n = packet.length;
  if (n >= 34 && packet[12] === 0x08 && packet[13] === 0x00 && packet[14] >> 4 === 4) {
    const ihl = (packet[14] & 0x0f) * 4;
    const src = ipv4ToString(readU32BE(packet, 26));
    const dst = ipv4ToString(readU32BE(packet, 30));
    const l4 = 14 + ihl;
    const proto = packet[23];
    // MF or a fragment offset: gopacket stops at IPv4 (LayerTypeFragment), so no ports, as in dissectFrame.
    const fragment = (readU16BE(packet, 20) & 0x3fff) !== 0;
    if (!fragment && proto === IpProto.TCP && n >= l4 + 14) {
      const flags = tcpFlagsToString(packet[l4 + 13]);
      return `${src}:${readU16BE(packet, l4)} -> ${dst}:${readU16BE(packet, l4 + 2)} tcp${flags ? ' ' + flags : ''}`;
    }
    if (!fragment && proto === IpProto.UDP && n >= l4 + 4) return `${src}:${readU16BE(packet, l4)} -> ${dst}:${readU16BE(packet, l4 + 2)} udp`;
    if (!fragment && proto === IpProto.ICMP && n >= l4 + 2) return `${src} -> ${dst} ${icmpv4TypeCodeName(packet[l4], packet[l4 + 1])}`;
    return `${src} -> ${dst}`;
  }
  return connectionSummary(dissectFrame(packet, 0, n));
}

function traceSummary(ev: TraceEvent): string {
  switch (ev.obsPoint) {
    case ObsPoint.TO_LXC:
      return `-> endpoint ${ev.dstId}`;
    case ObsPoint.TO_PROXY:
      return ev.dstId ? `-> proxy port ${ev.dstId}` : '-> proxy';
    case ObsPoint.TO_HOST:
      return '-> host from';
    case ObsPoint.TO_STACK:
      return '-> stack';
    case ObsPoint.TO_OVERLAY:
      return '-> overlay';
    case ObsPoint.FROM_LXC:
      return `<- endpoint ${ev.source}`;
    case ObsPoint.FROM_PROXY:
      return '<- proxy';
    case ObsPoint.FROM_HOST:
      return '<- host';
    case ObsPoint.FROM_STACK:
      return '<- stack';
    case ObsPoint.FROM_OVERLAY:
      return '<- overlay';
    case ObsPoint.FROM_NETWORK:
      return '<- network';
    case ObsPoint.TO_NETWORK:
      return '-> network';
    default:
      return obsPointName(ev.obsPoint);
  }
}

/** One `cilium monitor` line (INFO verbosity), as in the reference §6.2. */
export function formatMonitorLine(ev: DatapathEvent, opts: MonitorFormatOptions = {}): string {
  const id = (n: number): string => (opts.numeric ? String(n) : identityName(n));
  switch (ev.type) {
    case 'trace': {
      const ifname = opts.ifName?.(ev.ifindex) ?? String(ev.ifindex);
      return `${traceSummary(ev)} flow ${hex(ev.hash)} , identity ${id(ev.srcLabel)}->${id(ev.dstLabel)} state ${ctStateName(ev.reason)} ifindex ${ifname} orig-ip ${ipv4ToString(ev.origIp)}: ${conn(ev.packet)}`;
    }
    case 'drop':
      return `xx drop (${dropReasonText(ev.reason, ev.extError)}) flow ${hex(ev.hash)} to endpoint ${ev.dstId}, ifindex ${ev.ifindex}, file ${sourceFileName(ev.file)}:${ev.line}, , identity ${id(ev.srcLabel)}->${id(ev.dstLabel)}: ${conn(ev.packet)}`;
    case 'policy-verdict': {
      const action = ev.audited ? 'audit' : ev.verdict < 0 ? 'deny' : ev.verdict > 0 ? 'redirect' : 'allow';
      const dir = ev.direction === 1 ? 'ingress' : 'egress';
      return `Policy verdict log: flow ${hex(ev.hash)} local EP ID ${ev.source}, remote ID ${id(ev.remoteLabel)}, proto ${ev.proto}, ${dir}, action ${action}, auth: disabled, match ${policyMatchName(ev.matchType)}, ${conn(ev.packet)}`;
    }
    case 'access-log':
      return formatAccessLog(ev.record);
    case 'trace-sock':
      return `[${sockXlatePointName(ev.xlatePoint)}] cgroup_id: ${ev.cgroupId} sock_cookie: ${ev.sockCookie}, dst [${ipv4ToString(ev.dstIp)}]:${ev.dstPort} ${ev.proto === 6 ? 'tcp' : ev.proto === 17 ? 'udp' : 'unknown'} `;
  }
}
