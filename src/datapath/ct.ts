// Conntrack constants and the binary layout of cilium_ct4_global /
// cilium_ct_any4_global (bpf/lib/conntrack.h, 1.16+ `struct ct_entry`).

/** `struct ipv4_ct_tuple` (14 bytes, packed). Address/port fields are big-endian. */
export const enum CT_TUPLE {
  DADDR = 0,
  SADDR = 4,
  DPORT = 8,
  SPORT = 10,
  NEXTHDR = 12,
  FLAGS = 13,
  SIZE = 14,
}

/** Tuple flags (the key byte that tells OUT / IN / related / service entries apart). */
export const enum TupleFlags {
  OUT = 0,
  IN = 1,
  RELATED = 2,
  SERVICE = 4,
}

/** `struct ct_entry` (56 bytes). Host-order fields are little-endian (x86). */
export const enum CT_ENTRY {
  RESERVED0 = 0, // u64, was rx_packets
  BACKEND_ID = 8, // u64, SVC entries only
  PACKETS = 16, // u64, only with conntrack accounting
  BYTES = 24, // u64
  LIFETIME = 32, // u32, absolute expiry in BPF monotonic seconds
  FLAGS = 36, // u16 bitfield, see CtEntryFlags
  REV_NAT_INDEX = 38, // u16, network order
  IFINDEX = 40, // u16
  TX_FLAGS_SEEN = 42, // u8
  RX_FLAGS_SEEN = 43, // u8
  SRC_SEC_ID = 44, // u32
  LAST_TX_REPORT = 48, // u32
  LAST_RX_REPORT = 52, // u32
  SIZE = 56,
}

export const enum CtEntryFlags {
  RX_CLOSING = 0x1,
  TX_CLOSING = 0x2,
  NAT64 = 0x4,
  LB_LOOPBACK = 0x8,
  SEEN_NON_SYN = 0x10,
  NODE_PORT = 0x20,
  PROXY_REDIRECT = 0x40,
  DSR_INTERNAL = 0x80,
  FROM_L7LB = 0x100,
  FROM_TUNNEL = 0x400,
}

/** Flag names in the order `cilium bpf ct list` prints them. */
export const CT_FLAG_NAMES: [number, string][] = [
  [0x1, 'RxClosing'],
  [0x2, 'TxClosing'],
  [0x4, 'Nat64'],
  [0x8, 'LBLoopback'],
  [0x10, 'SeenNonSyn'],
  [0x20, 'NodePort'],
  [0x40, 'ProxyRedirect'],
  [0x80, 'DSRInternal'],
  [0x100, 'FromL7LB'],
  [0x400, 'FromTunnel'],
];

/** CT lookup direction (dir in debug events) and scope. */
export const enum CtDir { EGRESS = 0, INGRESS = 1, SERVICE = 2 }
export const enum CtScope { FORWARD = 0, REVERSE = 1, BIDIR = 2 }

/** Timeouts in seconds: agent flag defaults for 1.16/1.17. */
export interface CtTimeouts {
  /** --bpf-ct-timeout-regular-tcp */
  regularTcp: number;
  /** --bpf-ct-timeout-regular-tcp-syn */
  regularTcpSyn: number;
  /** --bpf-ct-timeout-regular-tcp-fin */
  regularTcpFin: number;
  /** --bpf-ct-timeout-regular-any */
  regularAny: number;
  /** --bpf-ct-timeout-service-tcp */
  serviceTcp: number;
  /** --bpf-ct-timeout-service-tcp-grace */
  serviceTcpGrace: number;
  /** --bpf-ct-timeout-service-any */
  serviceAny: number;
  /** CT_REPORT_INTERVAL: monitor aggregation report interval */
  reportInterval: number;
}

export const DEFAULT_CT_TIMEOUTS: Readonly<CtTimeouts> = Object.freeze({
  regularTcp: 8000,
  regularTcpSyn: 60,
  regularTcpFin: 10,
  regularAny: 60,
  serviceTcp: 8000,
  serviceTcpGrace: 60,
  serviceAny: 60,
  reportInterval: 5,
});

/** --bpf-ct-global-tcp-max / --bpf-ct-global-any-max defaults. */
export const CT_MAP_SIZE_TCP = 524288;
export const CT_MAP_SIZE_ANY = 262144;
