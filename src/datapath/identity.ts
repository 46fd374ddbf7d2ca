// Reserved security identities (pkg/identity/numericidentity.go).

export const enum ReservedIdentity {
  UNKNOWN = 0,
  HOST = 1,
  WORLD = 2,
  UNMANAGED = 3,
  HEALTH = 4,
  INIT = 5,
  REMOTE_NODE = 6,
  KUBE_APISERVER = 7,
  INGRESS = 8,
  WORLD_IPV4 = 9,
  WORLD_IPV6 = 10,
  ENCRYPTED_OVERLAY = 11,
}

/** Reserved identities by number → name (`world`, `remote-node`): monitor output and Hubble's `(world)`. */
export const RESERVED_IDENTITY_NAMES: Readonly<Record<number, string>> = {
  0: 'unknown',
  1: 'host',
  2: 'world',
  3: 'unmanaged',
  4: 'health',
  5: 'init',
  6: 'remote-node',
  7: 'kube-apiserver',
  8: 'ingress',
  9: 'world-ipv4',
  10: 'world-ipv6',
};

/** Label of each reserved identity, as `cilium identity list` shows it. */
export const RESERVED_LABELS: Record<number, string[]> = {
  1: ['reserved:host'],
  2: ['reserved:world'],
  3: ['reserved:unmanaged'],
  4: ['reserved:health'],
  5: ['reserved:init'],
  6: ['reserved:remote-node'],
  7: ['reserved:kube-apiserver', 'reserved:remote-node'],
  8: ['reserved:ingress'],
  9: ['reserved:world-ipv4'],
  10: ['reserved:world-ipv6'],
};

/** First cluster-scope identity; everything below is reserved. */
export const MIN_CLUSTER_IDENTITY = 256;
export const MAX_CLUSTER_IDENTITY = 65535;
/** Node-local identities (CIDR / FQDN selectors) carry this scope bit. */
export const LOCAL_IDENTITY_FLAG = 1 << 24;

export function isReservedIdentity(id: number): boolean {
  return id > 0 && id < MIN_CLUSTER_IDENTITY;
}

/** How `cilium monitor` prints an identity without -n: reserved ones by name. */
export function identityName(id: number): string {
  return RESERVED_IDENTITY_NAMES[id] ?? String(id);
}
