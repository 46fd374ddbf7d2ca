// Events into cilium_events (send_trace_notify, send_drop_notify,
// send_policy_verdict_notify) and the cilium_metrics counters.

import { writeU32BE } from '../../../bpf/bytes.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import {
  DROP_NOTIFY,
  EVENT_ENVELOPE,
  NOTIFY_HDR,
  NOTIFY_VERSION,
  POLICY_VERDICT_NOTIFY,
  PV_AUDITED_SHIFT,
  PV_MATCH_SHIFT,
  TRACE_NOTIFY,
  TRACE_PAYLOAD_LEN,
  TRACE_SOCK_NOTIFY,
} from '../../events.js';
import { METRICS_KEY, METRICS_VALUE } from '../../maps.js';
import { copyWords, TcAct, type SkBuff } from '../../skb.js';
import { MonitorAggregation, MsgType, ObsPoint } from '../../trace.js';
import type { NodeDatapath } from '../node-datapath.js';


/** Begin an event record of `structSize` bytes plus `cap` packet bytes; returns the struct's offset or -1. */
function beginEvent(dp: NodeDatapath, ctx: SkBuff, type: number, subtype: number, source: number, structSize: number, cap: number): number {
  const ring = dp.events;
  const o = ring.reserve(EVENT_ENVELOPE.SIZE + structSize + cap);
  if (o < 0) return -1;
  const v = dp.eventsView;
  v.setFloat64(o + EVENT_ENVELOPE.TIME_MS, dp.clock.now(), true);
  const s = o + EVENT_ENVELOPE.SIZE;
  // Little-endian words: type, subtype, source (u16); hash; len_orig; len_cap (u16), version (u16).
  v.setUint32(s + NOTIFY_HDR.TYPE, ((type & 0xff) | ((subtype & 0xff) << 8) | ((source & 0xffff) << 16)) >>> 0, true);
  v.setUint32(s + NOTIFY_HDR.HASH, ctx.hash, true);
  v.setUint32(s + NOTIFY_HDR.LEN_ORIG, ctx.len, true);
  v.setUint32(s + NOTIFY_HDR.LEN_CAP, ((cap & 0xffff) | (NOTIFY_VERSION << 16)) >>> 0, true);
  if (cap > 0) copyWords(ring.words, v, s + structSize, ctx.words, ctx.view, ctx.off, cap);
  return s;
}

/** emit_trace_notify(): whether monitor aggregation lets this trace point through. */
function traceAllowed(dp: NodeDatapath, obsPoint: number, monitor: number): boolean {
  const agg = dp.cfg.monitorAggregation;
  switch (obsPoint) {
    case ObsPoint.FROM_LXC:
    case ObsPoint.FROM_PROXY:
    case ObsPoint.FROM_HOST:
    case ObsPoint.FROM_STACK:
    case ObsPoint.FROM_OVERLAY:
    case ObsPoint.FROM_NETWORK:
    case ObsPoint.FROM_CRYPTO:
      return agg < MonitorAggregation.LOWEST;
    default:
      return !(agg >= MonitorAggregation.MEDIUM && monitor === 0);
  }
}

/**
 * send_trace_notify(). `monitor` is the CT report length (0 = nothing new to
 * report); origIp is the packet's original source for to-endpoint/to-proxy.
 */
export function sendTraceNotify(
  dp: NodeDatapath,
  ctx: SkBuff,
  obsPoint: number,
  source: number,
  srcLabel: number,
  dstLabel: number,
  dstId: number,
  ifindex: number,
  ctReason: number,
  monitor: number,
  origIp: number,
): void {
  if (!traceAllowed(dp, obsPoint, monitor)) return;
  const cap = Math.min(ctx.len, monitor || TRACE_PAYLOAD_LEN);
  const s = beginEvent(dp, ctx, MsgType.TRACE, obsPoint, source, TRACE_NOTIFY.SIZE, cap);
  if (s < 0) return;
  const v = dp.eventsView;
  v.setUint32(s + TRACE_NOTIFY.SRC_LABEL, srcLabel, true);
  v.setUint32(s + TRACE_NOTIFY.DST_LABEL, dstLabel, true);
  // dst_id (u16 LE), reason (u8), flags (u8, 0) as one little-endian word.
  v.setUint32(s + TRACE_NOTIFY.DST_ID, ((dstId & 0xffff) | ((ctReason & 0xff) << 16)) >>> 0, true);
  v.setUint32(s + TRACE_NOTIFY.IFINDEX, ifindex, true);
  // orig_ip is 16 bytes: the IPv4 address (network order), then zeros (stores, not a fill() call).
  v.setUint32(s + TRACE_NOTIFY.ORIG_IP, origIp >>> 0);
  v.setUint32(s + TRACE_NOTIFY.ORIG_IP + 4, 0, true);
  v.setUint32(s + TRACE_NOTIFY.ORIG_IP + 8, 0, true);
  v.setUint32(s + TRACE_NOTIFY.ORIG_IP + 12, 0, true);
  dp.events.commit();
}

/** `*(u64 *)(v + off) += delta` for a little-endian u64 counter (delta < 2^32), carrying by hand. */
function addU64(v: DataView, off: number, delta: number): void {
  const lo = v.getUint32(off, true) + delta;
  if (lo > 0xffffffff) {
    v.setUint32(off, lo - 0x1_0000_0000, true);
    v.setUint32(off + 4, (v.getUint32(off + 4, true) + 1) >>> 0, true);
  } else v.setUint32(off, lo, true);
}

/** Count a packet in cilium_metrics under (reason, direction, line, file). */
export function updateMetrics(dp: NodeDatapath, bytes: number, dir: number, reason: number, line: number, file: number): void {
  // struct metrics_key in the maps' shared key scratch (see KEY_SCRATCH), both words stored whole:
  // reason, dir, line (u16 LE); then file and three reserved zero bytes.
  const v0 = KEY_SCRATCH.view;
  v0.setUint32(METRICS_KEY.REASON, ((reason & 0xff) | ((dir & 3) << 8) | ((line & 0xffff) << 16)) >>> 0, true);
  v0.setUint32(METRICS_KEY.FILE, file & 0xff, true);
  const k = KEY_SCRATCH.bytes;
  const m = dp.metrics;
  let o = m.lookup(k);
  if (o < 0) o = m.reserve(k);
  if (o < 0) return;
  const v = m.view;
  addU64(v, o + METRICS_VALUE.COUNT, 1);
  addU64(v, o + METRICS_VALUE.BYTES, bytes);
}

/**
 * send_drop_notify(): report the drop, count it, and return TC_ACT_SHOT.
 * dstId is the endpoint at ingress, 0 for drops on the way out.
 */
export function sendDropNotify(
  dp: NodeDatapath,
  ctx: SkBuff,
  source: number,
  srcLabel: number,
  dstLabel: number,
  dstId: number,
  reason: number,
  file: number,
  line: number,
  metricDir: number,
  extError = 0,
): number {
  ctx.dropReason = reason;
  updateMetrics(dp, ctx.len, metricDir, reason, line, file);
  const cap = Math.min(ctx.len, TRACE_PAYLOAD_LEN);
  const s = beginEvent(dp, ctx, MsgType.DROP, reason, source, DROP_NOTIFY.SIZE, cap);
  if (s >= 0) {
    const v = dp.eventsView;
    const d = dp.events.data;
    v.setUint32(s + DROP_NOTIFY.SRC_LABEL, srcLabel, true);
    v.setUint32(s + DROP_NOTIFY.DST_LABEL, dstLabel, true);
    v.setUint32(s + DROP_NOTIFY.DST_ID, dstId, true);
    v.setUint16(s + DROP_NOTIFY.LINE, line, true);
    d[s + DROP_NOTIFY.FILE] = file;
    v.setInt8(s + DROP_NOTIFY.EXT_ERROR, extError);
    v.setUint32(s + DROP_NOTIFY.IFINDEX, ctx.ifindex, true);
    v.setUint32(s + DROP_NOTIFY.FLAGS, 0, true);
    dp.events.commit();
  }
  return TcAct.SHOT;
}

/** send_policy_verdict_notify(): the policy map key that decided, the verdict and the rules' cookie. */
export function sendPolicyVerdictNotify(
  dp: NodeDatapath,
  ctx: SkBuff,
  source: number,
  remoteLabel: number,
  dport: number,
  proto: number,
  dir: number,
  verdict: number,
  matchType: number,
  audited: boolean,
  cookie: number,
): void {
  const cap = Math.min(ctx.len, TRACE_PAYLOAD_LEN);
  const s = beginEvent(dp, ctx, MsgType.POLICY_VERDICT, 0, source, POLICY_VERDICT_NOTIFY.SIZE, cap);
  if (s < 0) return;
  const v = dp.eventsView;
  v.setUint32(s + POLICY_VERDICT_NOTIFY.REMOTE_LABEL, remoteLabel, true);
  v.setInt32(s + POLICY_VERDICT_NOTIFY.VERDICT, verdict, true);
  // dst_port (u16 LE), proto (u8), flags (u8) as one little-endian word.
  const flags = (dir & 3) | (matchType << PV_MATCH_SHIFT) | ((audited ? 1 : 0) << PV_AUDITED_SHIFT);
  v.setUint32(s + POLICY_VERDICT_NOTIFY.DST_PORT, ((dport & 0xffff) | ((proto & 0xff) << 16) | ((flags & 0xff) << 24)) >>> 0, true);
  // auth_type and the padding up to the cookie (4 bytes).
  v.setUint32(s + POLICY_VERDICT_NOTIFY.AUTH_TYPE, 0, true);
  v.setUint32(s + POLICY_VERDICT_NOTIFY.COOKIE, cookie, true);
  v.setUint32(s + POLICY_VERDICT_NOTIFY.COOKIE + 4, 0, true);
  dp.events.commit();
}

/** trace-sock event from the socket LB (pre/post translation). */
export function sendTraceSockNotify(dp: NodeDatapath, xlatePoint: number, dstIp: number, dstPort: number, proto: number, sockCookie: number, cgroupId: number): void {
  const ring = dp.events;
  const o = ring.reserve(EVENT_ENVELOPE.SIZE + TRACE_SOCK_NOTIFY.SIZE);
  if (o < 0) return;
  const v = dp.eventsView;
  const d = ring.data;
  v.setFloat64(o + EVENT_ENVELOPE.TIME_MS, dp.clock.now(), true);
  const s = o + EVENT_ENVELOPE.SIZE;
  d.fill(0, s, s + TRACE_SOCK_NOTIFY.SIZE);
  d[s + TRACE_SOCK_NOTIFY.TYPE] = MsgType.TRACE_SOCK;
  d[s + TRACE_SOCK_NOTIFY.XLATE_POINT] = xlatePoint;
  writeU32BE(d, s + TRACE_SOCK_NOTIFY.DST_IP, dstIp);
  v.setUint16(s + TRACE_SOCK_NOTIFY.DST_PORT, dstPort, true);
  d[s + TRACE_SOCK_NOTIFY.L4_PROTO] = proto;
  v.setFloat64(s + TRACE_SOCK_NOTIFY.SOCK_COOKIE, 0, true);
  v.setUint32(s + TRACE_SOCK_NOTIFY.SOCK_COOKIE, sockCookie >>> 0, true);
  v.setUint32(s + TRACE_SOCK_NOTIFY.CGROUP_ID, cgroupId >>> 0, true);
  ring.commit();
}
