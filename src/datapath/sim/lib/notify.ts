// Events into cilium_events (send_trace_notify, send_drop_notify,
// send_policy_verdict_notify) and the cilium_metrics counters.

import { bswap32 as importedBswap32, writeU32BE } from '../../../bpf/bytes.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import { PerCpuHashMap } from '../../../bpf/hash.js';
import { HOST_LITTLE_ENDIAN } from '../../../bpf/bytes.js';
import {
  DROP_NOTIFY,
  EVENT_ENVELOPE,
  NOTIFY_VERSION,
  POLICY_VERDICT_NOTIFY,
  PV_AUDITED_SHIFT,
  PV_MATCH_SHIFT,
  TRACE_NOTIFY,
  TRACE_PAYLOAD_LEN,
  TRACE_SOCK_NOTIFY,
} from '../../events.js';
import { METRICS_KEY, METRICS_VALUE } from '../../maps.js';
import { copyFloat64s as importedCopyFloat64s, copyPacket, TcAct, type SkBuff } from '../../skb.js';
import { MonitorAggregation, MsgType, ObsPoint } from '../../trace.js';
import type { NodeDatapath } from '../node-datapath.js';
import type { EventRing } from '../../../bpf/ringbuf.js';

// Module-local binding of this module's exported helpers called per packet: a
// call to an exported function goes through its export cell (loaded and checked
// on every call, as an import's), a module's own const is folded.
const localTraceAllowed = traceAllowed;

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const PAYLOAD_LEN = TRACE_PAYLOAD_LEN;
const VERSION = NOTIFY_VERSION;
const MATCH_SHIFT = PV_MATCH_SHIFT;
const AUDITED_SHIFT = PV_AUDITED_SHIFT;
const PerCpuHash = PerCpuHashMap;
const bswap32 = importedBswap32;
const copyFloat64s = importedCopyFloat64s;

// The notify structs below are little-endian and written as host-order words.
if (!HOST_LITTLE_ENDIAN) throw new Error('notify: event structs are written as host-order words and need a little-endian host');

/** Bytes before a record's packet capture: envelope and trace_notify / drop_notify / policy_verdict_notify. */
const TRACE_HEAD = EVENT_ENVELOPE.SIZE + TRACE_NOTIFY.SIZE;
const DROP_HEAD = EVENT_ENVELOPE.SIZE + DROP_NOTIFY.SIZE;
const VERDICT_HEAD = EVENT_ENVELOPE.SIZE + POLICY_VERDICT_NOTIFY.SIZE;

// Each record kind is written by one flat function: reserve, the envelope time
// as one float64 element, the notify header and struct as host-order words
// (little-endian, see EventRing.words), the capture, commit. Element stores
// into the ring's arrays share one bounds-check base, where each DataView store
// re-checks its view, and one function per record saves the calls (and their
// argument checks) that a shared "begin" helper cost on every record.
// Values stored into word elements are written `x | 0` (what the store does to
// them anyway): TurboFan then stores a checked small integer as it is, where a
// plain argument goes through its general number-to-int32 truncation.

/**
 * The packet capture behind a notify struct: the first `cap` bytes of the
 * packet into the ring at float64 element `j` (the record's capture offset / 8).
 * Records start 8-aligned, the structs are whole float64s and a record's space
 * is rounded up to 8 bytes, so the copy moves whole float64s (bits as they
 * are), the last one running into the record's padding, which consumers never
 * see. The skb's buffer is a whole number of float64s, so the read stays
 * inside it. A packet at an offset that is not 8-aligned goes through copyPacket.
 */
function capturePacket(ring: EventRing, j: number, ctx: SkBuff, cap: number): void {
  const srcOff = ctx.off;
  if ((srcOff & 7) !== 0) {
    copyPacket(ring, j << 3, ctx, srcOff, cap);
    return;
  }
  copyFloat64s(ring.f64, j, ctx.f64, srcOff >> 3, (cap + 7) >> 3);
}

/** Trace points that monitor aggregation treats as "from": a bit per ObsPoint. */
const FROM_POINTS =
  (1 << ObsPoint.FROM_LXC) |
  (1 << ObsPoint.FROM_PROXY) |
  (1 << ObsPoint.FROM_HOST) |
  (1 << ObsPoint.FROM_STACK) |
  (1 << ObsPoint.FROM_OVERLAY) |
  (1 << ObsPoint.FROM_NETWORK) |
  (1 << ObsPoint.FROM_CRYPTO);

// A const function expression, not a declaration: a declaration's binding
// is read from the module context and checked at every call, a module's own
// const is folded (these run per packet: addU64, typeWord, writeTraceNotify below).
/** The notify header's first word: type (u8), subtype (u8), source (u16). */
const typeWord = function typeWord(type: number, subtype: number, source: number): number {
  return (type & 0xff) | ((subtype & 0xff) << 8) | ((source & 0xffff) << 16);
};

/**
 * emit_trace_notify(): whether monitor aggregation lets this trace point
 * through. Hot callers that usually get `false` ask first and skip the
 * sendTraceNotify call.
 */
export function traceAllowed(dp: NodeDatapath, obsPoint: number, monitor: number): boolean {
  const agg = dp.cfg.monitorAggregation;
  // The from-* points (FROM_LXC … FROM_NETWORK, FROM_CRYPTO) as one bit test.
  if (obsPoint >>> 0 < 32 && ((FROM_POINTS >>> obsPoint) & 1) !== 0) return agg < MonitorAggregation.LOWEST;
  return !(agg >= MonitorAggregation.MEDIUM && monitor === 0);
}

/**
 * send_trace_notify(). `monitor` is the CT report length (0 = nothing new to
 * report); origIp is the packet's original source for to-endpoint/to-proxy.
 * Callers on the packet path whose trace point aggregation usually suppresses
 * ask traceAllowed() first and save the call. This stays a small wrapper
 * around the record writer so that TurboFan can inline it where aggregation
 * mostly says no (established flows) without spending its inlining budget on
 * the writer.
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
  if (localTraceAllowed(dp, obsPoint, monitor)) writeTraceNotify(dp, ctx, obsPoint, source, srcLabel, dstLabel, dstId, ifindex, ctReason, monitor, origIp);
}

/** The trace_notify record itself. */
const writeTraceNotify = function writeTraceNotify(
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
  const len = ctx.len;
  const want = monitor === 0 ? PAYLOAD_LEN : monitor;
  const cap = len < want ? len : want;
  const ring = dp.events;
  const o = ring.reserve(TRACE_HEAD + cap);
  if (o < 0) return;
  ring.f64[o >> 3] = dp.clock.now();
  const w = ring.words;
  // The struct's words, from the notify header (type, subtype, source; hash; len_orig; len_cap, version).
  const i = (o + EVENT_ENVELOPE.SIZE) >> 2;
  w[i] = typeWord(MsgType.TRACE, obsPoint, source);
  w[i + 1] = ctx.hash;
  w[i + 2] = len;
  w[i + 3] = cap | (VERSION << 16);
  w[i + (TRACE_NOTIFY.SRC_LABEL >> 2)] = srcLabel | 0;
  w[i + (TRACE_NOTIFY.DST_LABEL >> 2)] = dstLabel | 0;
  // dst_id (u16 LE), reason (u8), flags (u8, 0) as one little-endian word.
  w[i + (TRACE_NOTIFY.DST_ID >> 2)] = (dstId & 0xffff) | ((ctReason & 0xff) << 16);
  w[i + (TRACE_NOTIFY.IFINDEX >> 2)] = ifindex | 0;
  // orig_ip is 16 bytes: the IPv4 address (network order, so byte-swapped into the host-order word), then zeros.
  w[i + (TRACE_NOTIFY.ORIG_IP >> 2)] = bswap32(origIp);
  w[i + (TRACE_NOTIFY.ORIG_IP >> 2) + 1] = 0;
  w[i + (TRACE_NOTIFY.ORIG_IP >> 2) + 2] = 0;
  w[i + (TRACE_NOTIFY.ORIG_IP >> 2) + 3] = 0;
  if (cap > 0) capturePacket(ring, (o + TRACE_HEAD) >> 3, ctx, cap);
  ring.commit();
};

/** `*(u64 *)(v + off) += delta` for a little-endian u64 counter (delta < 2^32), carrying by hand. */
const addU64 = function addU64(v: DataView, off: number, delta: number): void {
  const lo = v.getUint32(off, true) + delta;
  if (lo > 0xffffffff) {
    v.setUint32(off, lo - 0x1_0000_0000, true);
    v.setUint32(off + 4, (v.getUint32(off + 4, true) + 1) >>> 0, true);
  } else v.setUint32(off, lo, true);
};

/** Count a packet in cilium_metrics under (reason, direction, line, file). */
export function updateMetrics(dp: NodeDatapath, bytes: number, dir: number, reason: number, line: number, file: number): void {
  // struct metrics_key as two host-order (little-endian) words: reason, dir, line (u16);
  // then file and three reserved zero bytes.
  const k0 = (reason & 0xff) | ((dir & 3) << 8) | ((line & 0xffff) << 16);
  const k1 = file & 0xff;
  const m = dp.metrics;
  // The per-CPU hash (always, outside tests that swap the map) takes the key as its two words.
  let o = m instanceof PerCpuHash ? m.lookupWords2(k0, k1) : m.lookup(metricsKey(k0, k1));
  if (o < 0) o = m.reserve(metricsKey(k0, k1));
  if (o < 0) return;
  const v = m.view;
  addU64(v, o + METRICS_VALUE.COUNT, 1);
  addU64(v, o + METRICS_VALUE.BYTES, bytes);
}

/** The metrics key's words in the maps' shared key scratch (see KEY_SCRATCH), as key bytes for the next map call. */
function metricsKey(k0: number, k1: number): Uint8Array {
  const kw = KEY_SCRATCH.words;
  kw[METRICS_KEY.REASON >> 2] = k0;
  kw[METRICS_KEY.FILE >> 2] = k1;
  return KEY_SCRATCH.bytes;
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
  const len = ctx.len;
  const cap = len < PAYLOAD_LEN ? len : PAYLOAD_LEN;
  const ring = dp.events;
  const o = ring.reserve(DROP_HEAD + cap);
  if (o >= 0) {
    ring.f64[o >> 3] = dp.clock.now();
    const w = ring.words;
    const i = (o + EVENT_ENVELOPE.SIZE) >> 2;
    w[i] = typeWord(MsgType.DROP, reason, source);
    w[i + 1] = ctx.hash;
    w[i + 2] = len;
    w[i + 3] = cap | (VERSION << 16);
    w[i + (DROP_NOTIFY.SRC_LABEL >> 2)] = srcLabel | 0;
    w[i + (DROP_NOTIFY.DST_LABEL >> 2)] = dstLabel | 0;
    w[i + (DROP_NOTIFY.DST_ID >> 2)] = dstId | 0;
    // line (u16 LE), file (u8), ext_error (s8) as one little-endian word.
    w[i + (DROP_NOTIFY.LINE >> 2)] = (line & 0xffff) | ((file & 0xff) << 16) | ((extError & 0xff) << 24);
    w[i + (DROP_NOTIFY.IFINDEX >> 2)] = ctx.ifindex | 0;
    w[i + (DROP_NOTIFY.FLAGS >> 2)] = 0;
    if (cap > 0) capturePacket(ring, (o + DROP_HEAD) >> 3, ctx, cap);
    ring.commit();
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
  const len = ctx.len;
  const cap = len < PAYLOAD_LEN ? len : PAYLOAD_LEN;
  const ring = dp.events;
  const o = ring.reserve(VERDICT_HEAD + cap);
  if (o < 0) return;
  ring.f64[o >> 3] = dp.clock.now();
  const w = ring.words;
  const i = (o + EVENT_ENVELOPE.SIZE) >> 2;
  w[i] = typeWord(MsgType.POLICY_VERDICT, 0, source);
  w[i + 1] = ctx.hash;
  w[i + 2] = len;
  w[i + 3] = cap | (VERSION << 16);
  w[i + (POLICY_VERDICT_NOTIFY.REMOTE_LABEL >> 2)] = remoteLabel | 0;
  w[i + (POLICY_VERDICT_NOTIFY.VERDICT >> 2)] = verdict | 0;
  // dst_port (u16 LE), proto (u8), flags (u8) as one little-endian word.
  const flags = (dir & 3) | (matchType << MATCH_SHIFT) | ((audited ? 1 : 0) << AUDITED_SHIFT);
  w[i + (POLICY_VERDICT_NOTIFY.DST_PORT >> 2)] = (dport & 0xffff) | ((proto & 0xff) << 16) | ((flags & 0xff) << 24);
  // auth_type and the padding up to the cookie (4 bytes); the u64 cookie's high word.
  w[i + (POLICY_VERDICT_NOTIFY.AUTH_TYPE >> 2)] = 0;
  w[i + (POLICY_VERDICT_NOTIFY.COOKIE >> 2)] = cookie | 0;
  w[i + (POLICY_VERDICT_NOTIFY.COOKIE >> 2) + 1] = 0;
  if (cap > 0) capturePacket(ring, (o + VERDICT_HEAD) >> 3, ctx, cap);
  ring.commit();
}

/** trace-sock event from the socket LB (pre/post translation). */
export function sendTraceSockNotify(dp: NodeDatapath, xlatePoint: number, dstIp: number, dstPort: number, proto: number, sockCookie: number, cgroupId: number): void {
  const ring = dp.events;
  const o = ring.reserve(EVENT_ENVELOPE.SIZE + TRACE_SOCK_NOTIFY.SIZE);
  if (o < 0) return;
  const v = ring.view;
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
