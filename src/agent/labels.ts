// Security-relevant labels: the part of a pod's labels that decides its
// identity. Cilium's default label filter (pkg/labelsfilter) keeps the pod's
// own labels except Kubernetes' bookkeeping ones (pod-template-hash,
// controller-revision-hash, kubernetes.io/..., ...), and the agent adds the
// namespace (`io.kubernetes.pod.namespace`), the namespace's labels
// (`io.cilium.k8s.namespace.labels.*`), the service account and the cluster
// name. Labels print as `source:key=value`, sorted, the way
// `cilium endpoint list` and `cilium identity list` show them.

export const LABEL_SOURCE_K8S = 'k8s';
export const LABEL_SOURCE_RESERVED = 'reserved';

export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';
export const SERVICE_ACCOUNT_LABEL = 'io.cilium.k8s.policy.serviceaccount';
export const CLUSTER_LABEL = 'io.cilium.k8s.policy.cluster';

/**
 * Cilium's default label filter: patterns anchored at the start of the key
 * ("!kubernetes\\.io" drops kubernetes.io/hostname but keeps
 * app.kubernetes.io/name and node-role.kubernetes.io/control-plane).
 */
const DROPPED_PREFIXES = [
  'io.kubernetes',
  'kubernetes.io',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/job-completion-index',
  'batch.kubernetes.io/controller-uid',
  'k8s.io',
  'pod-template-generation',
  'pod-template-hash',
  'controller-revision-hash',
  'controller-uid',
  'annotation',
  'etcd_node',
];

/** Whether the default label filter keeps a label key for the identity. */
export function isSecurityRelevant(key: string): boolean {
  if (key === POD_NAMESPACE_LABEL || key.startsWith(NAMESPACE_LABELS_PREFIX) || key.startsWith('io.cilium.k8s.policy.')) return true;
  if (key.includes('beta.kubernetes.io')) return false;
  return !DROPPED_PREFIXES.some((p) => key.startsWith(p));
}

export interface SecurityLabelInput {
  namespace: string;
  podLabels: Readonly<Record<string, string>> | undefined;
  namespaceLabels: Readonly<Record<string, string>> | undefined;
  serviceAccount: string;
  clusterName: string;
}

/** The endpoint's security labels, sorted, as `k8s:key=value` strings. */
export function securityLabels(input: SecurityLabelInput): string[] {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(input.podLabels ?? {})) if (isSecurityRelevant(k)) out.set(k, v);
  for (const [k, v] of Object.entries(input.namespaceLabels ?? {})) out.set(NAMESPACE_LABELS_PREFIX + k, v);
  out.set(POD_NAMESPACE_LABEL, input.namespace);
  out.set(SERVICE_ACCOUNT_LABEL, input.serviceAccount || 'default');
  out.set(CLUSTER_LABEL, input.clusterName);
  return [...out].map(([k, v]) => `${LABEL_SOURCE_K8S}:${k}=${v}`).sort();
}

/** `k8s:app=frontend` → { source: 'k8s', key: 'app', value: 'frontend' }. */
export function parseLabel(text: string): { source: string; key: string; value: string } {
  const colon = text.indexOf(':');
  const source = colon < 0 ? 'unspec' : text.slice(0, colon);
  const rest = colon < 0 ? text : text.slice(colon + 1);
  const eq = rest.indexOf('=');
  return eq < 0 ? { source, key: rest, value: '' } : { source, key: rest.slice(0, eq), value: rest.slice(eq + 1) };
}

/** One string per label set: how identities are looked up by labels. */
export function labelsKey(labels: readonly string[]): string {
  return [...labels].sort().join(';');
}

/** CiliumIdentity `security-labels`: `k8s:app` → `frontend`. */
export function toSecurityLabelMap(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const { source, key, value } = parseLabel(l);
    out[`${source}:${key}`] = value;
  }
  return out;
}

export function fromSecurityLabelMap(map: Readonly<Record<string, string>>): string[] {
  return Object.entries(map)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The Kubernetes-valid subset of the k8s-source labels, for CiliumIdentity metadata.labels (as Cilium writes them). */
export function toObjectLabels(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const { source, key, value } = parseLabel(l);
    if (source !== LABEL_SOURCE_K8S || key.startsWith(NAMESPACE_LABELS_PREFIX)) continue;
    const name = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
    if (LABEL_KEY.test(key) && name.length <= 63 && key.length <= 316 && value.length <= 63 && LABEL_VALUE.test(value)) out[key] = value;
  }
  return out;
}
