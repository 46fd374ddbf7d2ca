// Cilium's BPF maps: names, kinds, sizes and the byte layout of every key and
// value the programs read (bpf/lib/maps.h, common.h). The agent writes these
// bytes; the programs read them; `cilium bpf ... list` decodes them.

import { BpfMapType, type MapSpec } from '../bpf/types.js';
import { CT_ENTRY, CT_MAP_SIZE_ANY, CT_MAP_SIZE_TCP, CT_TUPLE } from './ct.js';

export const MapName = {
  CT4_GLOBAL: 'cilium_ct4_global',
  CT_ANY4_GLOBAL: 'cilium_ct_any4_global',
  LB4_SERVICES: 'cilium_lb4_services_v2',
  LB4_BACKENDS: 'cilium_lb4_backends_v3',
  LB4_REVERSE_NAT: 'cilium_lb4_reverse_nat',
  LB4_REVERSE_SK: 'cilium_lb4_reverse_sk',
  LB4_AFFINITY: 'cilium_lb4_affinity',
  LXC: 'cilium_lxc',
  IPCACHE: 'cilium_ipcache',
  TUNNEL: 'cilium_tunnel_map',
  METRICS: 'cilium_metrics',
  EVENTS: 'cilium_events',
  CALL_POLICY: 'cilium_call_policy',
  EGRESSCALL_POLICY: 'cilium_egresscall_policy',
  CALLS_OVERLAY: 'cilium_calls_overlay_2',
  SNAT4_EXTERNAL: 'cilium_snat_v4_external',
} as const;

/** Per-endpoint map names: prefix + 5-digit zero-padded endpoint ID. */
export function localMapName(prefix: string, epId: number): string {
  return prefix + String(epId).padStart(5, '0');
}
export const policyMapName = (epId: number): string => localMapName('cilium_policy_', epId);
export const callsMapName = (epId: number): string => localMapName('cilium_calls_', epId);

// ---- cilium_lb4_services_v2 ----------------------------------------------
/** `struct lb4_key` */
export const enum LB4_KEY { ADDRESS = 0, DPORT = 4, BACKEND_SLOT = 6, PROTO = 8, SCOPE = 9, SIZE = 12 }
/** `struct lb4_service`; BACKEND_ID holds the affinity timeout in the master (slot 0) entry. */
export const enum LB4_SERVICE { BACKEND_ID = 0, COUNT = 4, REV_NAT_INDEX = 6, FLAGS = 8, FLAGS2 = 9, QCOUNT = 10, SIZE = 12 }
export const enum LbScope { EXTERNAL = 0, INTERNAL = 1 }
/** lb4_service.flags (enum lb_svc_flags) */
export const enum SvcFlags {
  EXTERNAL_IP = 1 << 0,
  NODEPORT = 1 << 1,
  EXT_LOCAL_SCOPE = 1 << 2,
  HOSTPORT = 1 << 3,
  AFFINITY = 1 << 4,
  LOADBALANCER = 1 << 5,
  ROUTABLE = 1 << 6,
  SOURCE_RANGE = 1 << 7,
}
/** lb4_service.flags2 */
export const enum SvcFlags2 {
  LOCALREDIRECT = 1 << 0,
  NAT_46X64 = 1 << 1,
  L7LOADBALANCER = 1 << 2,
  LOOPBACK = 1 << 3,
  INT_LOCAL_SCOPE = 1 << 4,
  TWO_SCOPES = 1 << 5,
}

// ---- cilium_lb4_backends_v3 ----------------------------------------------
export const enum LB4_BACKEND { ADDRESS = 0, PORT = 4, PROTO = 6, FLAGS = 7, CLUSTER_ID = 8, ZONE = 10, SIZE = 12 }
export const enum BackendState { ACTIVE = 0, TERMINATING = 1, QUARANTINED = 2, MAINTENANCE = 3 }

// ---- cilium_lb4_reverse_nat -----------------------------------------------
/** key: rev_nat_index u16; value `struct lb4_reverse_nat` */
export const enum LB4_REVNAT { ADDRESS = 0, PORT = 4, SIZE = 8 }

// ---- cilium_lb4_reverse_sk -------------------------------------------------
export const enum LB4_REVSK_KEY { COOKIE = 0, ADDRESS = 8, PORT = 12, SIZE = 16 }
export const enum LB4_REVSK_VALUE { ADDRESS = 0, PORT = 4, REV_NAT_INDEX = 6, SIZE = 8 }

// ---- cilium_lxc --------------------------------------------------------------
/** `struct endpoint_key`: IPv4 in the first 4 of 16 address bytes. */
export const enum ENDPOINT_KEY { IP = 0, FAMILY = 16, KEY = 17, CLUSTER_ID = 18, SIZE = 20 }
export const ENDPOINT_KEY_IPV4 = 1;
/** `struct endpoint_info` */
export const enum ENDPOINT_INFO { IFINDEX = 0, UNUSED = 4, LXC_ID = 6, FLAGS = 8, MAC = 12, NODE_MAC = 18, SEC_ID = 24, SIZE = 32 }
export const enum EndpointFlags { HOST = 1 }

// ---- cilium_ipcache (LPM) ----------------------------------------------------
/** `struct ipcache_key`: LPM prefixlen (u32, host order), then cluster_id, pad, family, ip[16]. */
export const enum IPCACHE_KEY { PREFIXLEN = 0, CLUSTER_ID = 4, PAD = 6, FAMILY = 7, IP = 8, SIZE = 24 }
/** Bits of the key data before the address: cluster_id + pad + family. */
export const IPCACHE_PREFIX_STATIC_BITS = 32;
/** `struct remote_endpoint_info` */
export const enum REMOTE_ENDPOINT_INFO { SEC_IDENTITY = 0, TUNNEL_ENDPOINT = 4, PAD = 8, KEY = 10, FLAGS = 11, SIZE = 12 }
export const enum RemoteEndpointFlags { SKIP_TUNNEL = 1 }

// ---- cilium_tunnel_map ---------------------------------------------------------
export const enum TUNNEL_KEY { IP = 0, FAMILY = 16, PAD = 17, CLUSTER_ID = 18, SIZE = 20 }
export const enum TUNNEL_VALUE { IP = 0, FAMILY = 16, KEY = 17, PAD = 18, SIZE = 20 }

// ---- cilium_policy_<EPID> (LPM) -------------------------------------------------
/** `struct policy_key`: LPM prefixlen, then sec_label u32, egress u8, protocol u8, dport be16. */
export const enum POLICY_KEY { PREFIXLEN = 0, SEC_LABEL = 4, EGRESS = 8, PROTOCOL = 9, DPORT = 10, SIZE = 12 }
/** Prefix bits: identity+direction (40), +protocol (48), +port (64). */
export const enum POLICY_PREFIX { ID_DIR = 40, PROTO = 48, FULL = 64 }
/**
 * `struct policy_entry`. LPM_PREFIX_LEN repeats the entry's prefix length so the
 * program can rank an identity match against a wildcard one; COOKIE names the
 * rules that produced the entry (for attribution).
 */
export const enum POLICY_ENTRY { PROXY_PORT = 0, FLAGS = 2, AUTH_TYPE = 3, LPM_PREFIX_LEN = 4, COOKIE = 8, PACKETS = 16, BYTES = 24, SIZE = 32 }
export const enum PolicyEntryFlags { DENY = 1, WILDCARD_PROTOCOL = 2, WILDCARD_DPORT = 4 }
export const POLICY_MAP_SIZE = 16384;

// ---- cilium_metrics (per-CPU hash) ----------------------------------------------
/** `struct metrics_key`: reason u8, dir:2 bits, line u16, file u8, reserved[3]. */
export const enum METRICS_KEY { REASON = 0, DIR = 1, LINE = 2, FILE = 4, SIZE = 8 }
export const enum METRICS_VALUE { COUNT = 0, BYTES = 8, SIZE = 16 }
export const enum MetricsDir { UNKNOWN = 0, INGRESS = 1, EGRESS = 2, SERVICE = 3 }

// ---- cilium_snat_v4_external (BPF masquerading) ---------------------------------
/** key: an ipv4_ct_tuple (OUT = the pod's original tuple, IN = the reply tuple at the node); value `struct ipv4_nat_entry`. */
export const enum NAT_ENTRY { CREATED = 0, NEEDS_CT = 8, TO_ADDR = 16, TO_PORT = 20, SIZE = 24 }
/** NODEPORT_PORT_MIN_NAT / NODEPORT_PORT_MAX_NAT: the masquerade source port range. */
export const NAT_PORT_MIN = 32768;
export const NAT_PORT_MAX = 65535;

export interface NodeMapSizes {
  ctTcp: number;
  ctAny: number;
  lb: number;
  ipcache: number;
  lxc: number;
  nat: number;
  eventsBytes: number;
}

export const DEFAULT_MAP_SIZES: Readonly<NodeMapSizes> = Object.freeze({
  ctTcp: CT_MAP_SIZE_TCP,
  ctAny: CT_MAP_SIZE_ANY,
  lb: 65536,
  ipcache: 512000,
  lxc: 65535,
  // 2/3 of the CT maps, as Cilium sizes it.
  nat: 524288,
  // 64 pages x 4096 B per CPU, as `cilium monitor` reports.
  eventsBytes: 64 * 4096,
});

/** Specs of the node-wide maps every node's datapath has (pinned in /sys/fs/bpf/tc/globals). */
export function nodeMapSpecs(sizes: NodeMapSizes = DEFAULT_MAP_SIZES): MapSpec[] {
  return [
    { name: MapName.CT4_GLOBAL, type: BpfMapType.LRU_HASH, keySize: CT_TUPLE.SIZE, valueSize: CT_ENTRY.SIZE, maxEntries: sizes.ctTcp },
    { name: MapName.CT_ANY4_GLOBAL, type: BpfMapType.LRU_HASH, keySize: CT_TUPLE.SIZE, valueSize: CT_ENTRY.SIZE, maxEntries: sizes.ctAny },
    { name: MapName.LB4_SERVICES, type: BpfMapType.HASH, keySize: LB4_KEY.SIZE, valueSize: LB4_SERVICE.SIZE, maxEntries: sizes.lb },
    { name: MapName.LB4_BACKENDS, type: BpfMapType.HASH, keySize: 4, valueSize: LB4_BACKEND.SIZE, maxEntries: sizes.lb },
    { name: MapName.LB4_REVERSE_NAT, type: BpfMapType.HASH, keySize: 2, valueSize: LB4_REVNAT.SIZE, maxEntries: sizes.lb },
    { name: MapName.LB4_REVERSE_SK, type: BpfMapType.LRU_HASH, keySize: LB4_REVSK_KEY.SIZE, valueSize: LB4_REVSK_VALUE.SIZE, maxEntries: sizes.ctAny },
    { name: MapName.LXC, type: BpfMapType.HASH, keySize: ENDPOINT_KEY.SIZE, valueSize: ENDPOINT_INFO.SIZE, maxEntries: sizes.lxc },
    { name: MapName.IPCACHE, type: BpfMapType.LPM_TRIE, keySize: IPCACHE_KEY.SIZE, valueSize: REMOTE_ENDPOINT_INFO.SIZE, maxEntries: sizes.ipcache, flags: 1 },
    { name: MapName.TUNNEL, type: BpfMapType.HASH, keySize: TUNNEL_KEY.SIZE, valueSize: TUNNEL_VALUE.SIZE, maxEntries: 65536 },
    { name: MapName.SNAT4_EXTERNAL, type: BpfMapType.LRU_HASH, keySize: CT_TUPLE.SIZE, valueSize: NAT_ENTRY.SIZE, maxEntries: sizes.nat },
    { name: MapName.METRICS, type: BpfMapType.PERCPU_HASH, keySize: METRICS_KEY.SIZE, valueSize: METRICS_VALUE.SIZE, maxEntries: 1024 },
  ];
}

export function policyMapSpec(epId: number, maxEntries = POLICY_MAP_SIZE): MapSpec {
  return { name: policyMapName(epId), type: BpfMapType.LPM_TRIE, keySize: POLICY_KEY.SIZE, valueSize: POLICY_ENTRY.SIZE, maxEntries, flags: 1 };
}
