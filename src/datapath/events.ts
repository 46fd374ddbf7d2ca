// Datapath → agent events in the cilium_events ring, in the binary shapes of
// Cilium's notify structs (bpf/lib/trace.h, drop.h, policy_log.h). Every record
// starts with an 8-byte envelope holding the clock time (the perf sample
// time), then the notify struct, then the first bytes of the packet.

export const enum EVENT_ENVELOPE { TIME_MS = 0, SIZE = 8 }

/** NOTIFY_CAPTURE_HDR, relative to the start of the notify struct. */
export const enum NOTIFY_HDR { TYPE = 0, SUBTYPE = 1, SOURCE = 2, HASH = 4, LEN_ORIG = 8, LEN_CAP = 12, VERSION = 14, SIZE = 16 }

/** `struct trace_notify` (48 bytes). */
export const enum TRACE_NOTIFY {
  SRC_LABEL = 16,
  DST_LABEL = 20,
  DST_ID = 24, // u16
  REASON = 26, // u8: CT state (trace.ts CtState), 0x80 = encrypted
  FLAGS = 27, // u8: bit0 ipv6
  IFINDEX = 28,
  ORIG_IP = 32, // 16 bytes, IPv4 in the first 4 (big-endian)
  SIZE = 48,
}

/** `struct drop_notify` (40 bytes). */
export const enum DROP_NOTIFY {
  SRC_LABEL = 16,
  DST_LABEL = 20,
  DST_ID = 24, // u32: endpoint ID at ingress, 0 for egress-side drops
  LINE = 28, // u16
  FILE = 30, // u8
  EXT_ERROR = 31, // s8
  IFINDEX = 32,
  FLAGS = 36,
  SIZE = 40,
}

/**
 * `struct policy_verdict_notify` (40 bytes). REMOTE_LABEL, DST_PORT, PROTO and
 * the direction bit are the policy map key that decided; COOKIE names the
 * rules behind the matched entry.
 */
export const enum POLICY_VERDICT_NOTIFY {
  REMOTE_LABEL = 16,
  VERDICT = 20, // s32: 0 allow, <0 -drop reason, >0 proxy port
  DST_PORT = 24, // u16 (host order)
  PROTO = 26, // u8
  FLAGS = 27, // u8: dir:2 (1 ingress, 2 egress), ipv6:1, match_type:3, audited:1
  AUTH_TYPE = 28,
  COOKIE = 32, // u32
  SIZE = 40,
}

export const PV_DIR_SHIFT = 0;
export const PV_IPV6_SHIFT = 2;
export const PV_MATCH_SHIFT = 3;
export const PV_AUDITED_SHIFT = 6;
export const enum PolicyDir { INGRESS = 1, EGRESS = 2 }

/** `struct trace_sock_notify` (socket LB translation). */
export const enum TRACE_SOCK_NOTIFY {
  TYPE = 0,
  XLATE_POINT = 1,
  DST_IP = 4, // 16 bytes
  DST_PORT = 20, // u16 host order
  L4_PROTO = 22, // u8
  FLAGS = 23, // bit0 ipv6
  SOCK_COOKIE = 24, // u64
  CGROUP_ID = 32, // u64
  SIZE = 40,
}

/** Bytes of packet captured after a trace/drop/verdict struct (TRACE_PAYLOAD_LEN). */
export const TRACE_PAYLOAD_LEN = 128;

/** Current struct versions written by the programs. */
export const NOTIFY_VERSION = 0;
