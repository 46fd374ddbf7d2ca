// Trace observation points, CT result strings and monitor message types
// (bpf/lib/trace.h, pkg/monitor/api/types.go).

/** enum trace_point: the monitor sub-type of a trace event. */
export const enum ObsPoint {
  TO_LXC = 0, // printed "to-endpoint"
  TO_PROXY = 1,
  TO_HOST = 2,
  TO_STACK = 3,
  TO_OVERLAY = 4,
  FROM_LXC = 5, // "from-endpoint"
  FROM_PROXY = 6,
  FROM_HOST = 7,
  FROM_STACK = 8,
  FROM_OVERLAY = 9,
  FROM_NETWORK = 10,
  TO_NETWORK = 11,
  FROM_CRYPTO = 12,
  TO_CRYPTO = 13,
}

const OBS_NAMES = [
  'to-endpoint',
  'to-proxy',
  'to-host',
  'to-stack',
  'to-overlay',
  'from-endpoint',
  'from-proxy',
  'from-host',
  'from-stack',
  'from-overlay',
  'from-network',
  'to-network',
  'from-crypto',
  'to-crypto',
];

export function obsPointName(p: number): string {
  return OBS_NAMES[p] ?? `unknown(${p})`;
}

/** CT lookup results as carried in trace events' `reason` byte. */
export const enum CtState {
  NEW = 0,
  ESTABLISHED = 1,
  REPLY = 2,
  RELATED = 3,
  REOPENED = 4,
  UNKNOWN = 5,
}

const CT_STATE_NAMES = ['new', 'established', 'reply', 'related', 'reopened', 'unknown', 'srv6-encap', 'srv6-decap', 'encrypt-overlay'];

/** `state` text in monitor lines; the 0x80 bit means the packet was encrypted. */
export function ctStateName(reason: number): string {
  const enc = reason & 0x80 ? 'encrypted ' : '';
  return enc + (CT_STATE_NAMES[reason & 0x7f] ?? 'unknown');
}

/** Monitor message types (first byte of every event). */
export const enum MsgType {
  DROP = 1,
  DEBUG = 2,
  CAPTURE = 3,
  TRACE = 4,
  POLICY_VERDICT = 5,
  RECORDER = 6,
  TRACE_SOCK = 7,
  ACCESS_LOG = 129,
  AGENT = 130,
}

export const MSG_TYPE_NAMES: Record<string, number> = {
  drop: 1,
  debug: 2,
  capture: 3,
  trace: 4,
  'policy-verdict': 5,
  recorder: 6,
  'trace-sock': 7,
  l7: 129,
  agent: 130,
};

/** Monitor aggregation levels (`--monitor-aggregation`). */
export const enum MonitorAggregation { NONE = 0, LOWEST = 1, LOW = 2, MEDIUM = 3, MAXIMUM = 4 }

/** Policy verdict match types (bpf/lib/policy_log.h). */
export const enum PolicyMatch {
  NONE = 0,
  L3_ONLY = 1,
  L3_L4 = 2,
  L4_ONLY = 3,
  ALL = 4,
  L3_PROTO = 5,
  PROTO_ONLY = 6,
}

const MATCH_NAMES = ['none', 'L3-Only', 'L3-L4', 'L4-Only', 'all', 'L3-Proto', 'Proto-Only'];

export function policyMatchName(m: number): string {
  return MATCH_NAMES[m] ?? 'unknown';
}

/** Trace-sock translation points. */
export const enum SockXlatePoint { PRE_DIRECTION_FWD = 1, POST_DIRECTION_FWD = 2, PRE_DIRECTION_REV = 3, POST_DIRECTION_REV = 4 }

const XLATE_NAMES = ['unknown', 'pre-xlate-fwd', 'post-xlate-fwd', 'pre-xlate-rev', 'post-xlate-rev'];

export function sockXlatePointName(p: number): string {
  return XLATE_NAMES[p] ?? 'unknown';
}
