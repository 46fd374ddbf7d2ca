// The kinds this apiserver serves, described the way discovery describes them
// (`kubectl api-resources`). Everything that routes by URL, names a resource in
// an error or resolves `kubectl get deploy` goes through this table.

import type { GroupKind, GroupResource } from './status.js';

export interface ResourceInfo {
  /** API group; '' for the core group served under /api/v1. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  /**
   * Subresources served under `<name>/<sub>`: 'status' (the main endpoint then
   * ignores status changes) and 'scale' (an autoscaling/v1 Scale view of spec.replicas).
   */
  readonly subresources: readonly string[];
  /** Served from a CustomResourceDefinition (Cilium's kinds): no strategic merge patch, as in real clusters. */
  readonly customResource: boolean;
  /** metadata.generation is bumped when anything outside metadata and status changes. */
  readonly tracksGeneration: boolean;
  /** Fields usable in a fieldSelector, besides metadata.name and metadata.namespace. */
  readonly selectableFields: readonly string[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

interface Spec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: readonly string[];
  subresources?: string[];
  customResource?: boolean;
  tracksGeneration?: boolean;
  selectableFields?: string[];
}

function resource(s: Spec): ResourceInfo {
  return Object.freeze({
    group: s.group,
    version: s.version,
    kind: s.kind,
    listKind: `${s.kind}List`,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    namespaced: s.namespaced,
    shortNames: Object.freeze(s.shortNames ?? []),
    categories: Object.freeze(s.categories ?? []),
    verbs: Object.freeze([...(s.verbs ?? ALL_VERBS)]),
    subresources: Object.freeze(s.subresources ?? []),
    customResource: s.customResource ?? false,
    tracksGeneration: s.tracksGeneration ?? false,
    selectableFields: Object.freeze(s.selectableFields ?? []),
  });
}

const CILIUM = { group: 'cilium.io', version: 'v2', customResource: true } as const;

export const RESOURCES: readonly ResourceInfo[] = Object.freeze([
  resource({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
    selectableFields: ['status.phase'],
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['status'],
    selectableFields: ['spec.unschedulable'],
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
    selectableFields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
    selectableFields: ['spec.clusterIP', 'spec.type'],
  }),
  resource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] }),
  resource({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'] }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    shortNames: ['ev'],
    selectableFields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  resource({ group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'] }),
  resource({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
    shortNames: ['netpol'],
    tracksGeneration: true,
  }),
  resource({
    ...CILIUM,
    kind: 'CiliumNetworkPolicy',
    plural: 'ciliumnetworkpolicies',
    namespaced: true,
    shortNames: ['cnp', 'ciliumnp'],
    categories: ['cilium', 'ciliumpolicy'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    ...CILIUM,
    kind: 'CiliumClusterwideNetworkPolicy',
    plural: 'ciliumclusterwidenetworkpolicies',
    namespaced: false,
    shortNames: ['ccnp'],
    categories: ['cilium', 'ciliumpolicy'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  resource({
    ...CILIUM,
    kind: 'CiliumEndpoint',
    plural: 'ciliumendpoints',
    namespaced: true,
    shortNames: ['cep', 'ciliumep'],
    categories: ['cilium'],
  }),
  resource({
    ...CILIUM,
    kind: 'CiliumIdentity',
    plural: 'ciliumidentities',
    namespaced: false,
    shortNames: ['ciliumid'],
    categories: ['cilium'],
  }),
  resource({
    ...CILIUM,
    kind: 'CiliumNode',
    plural: 'ciliumnodes',
    namespaced: false,
    shortNames: ['cn', 'ciliumn'],
    categories: ['cilium'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
]);

/** "v1" for the core group, "apps/v1" otherwise. */
export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The store's key for a resource: "/pods", "apps/deployments". */
export function storageKey(r: ResourceInfo): string {
  return `${r.group}/${r.plural}`;
}

export function groupResource(r: ResourceInfo): GroupResource {
  return { group: r.group, resource: r.plural };
}

export function groupKind(r: ResourceInfo): GroupKind {
  return { group: r.group, kind: r.kind };
}

/** The URL of a collection: `/api/v1/namespaces/default/pods`, `/apis/cilium.io/v2/ciliumnodes`. */
export function collectionPath(r: ResourceInfo, namespace?: string): string {
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${ns}/${r.plural}`;
}

/** The URL of one object, optionally a subresource of it. */
export function objectPath(r: ResourceInfo, name: string, namespace?: string, subresource?: string): string {
  const base = `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`;
  return subresource ? `${base}/${subresource}` : base;
}

/** Split "apps/v1" into group and version ("v1" → core group). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  return RESOURCES.find((r) => r.group === group && r.version === version && r.kind === kind);
}

export function resourceForPath(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

function namesOf(r: ResourceInfo): string[] {
  return [r.plural, r.singular, r.kind.toLowerCase(), ...r.shortNames];
}

/**
 * Resolve what a person types after `kubectl get`: a plural, singular, kind or
 * short name, case-insensitive, optionally qualified as `name.group` or
 * `name.version.group` (`deployments.apps`, `cnp.v2.cilium.io`).
 */
export function lookupResource(text: string): ResourceInfo | undefined {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return undefined;
  const plain = RESOURCES.find((r) => namesOf(r).includes(wanted));
  if (plain) return plain;
  const dot = wanted.indexOf('.');
  if (dot < 0) return undefined;
  const name = wanted.slice(0, dot);
  const rest = wanted.slice(dot + 1);
  return RESOURCES.find((r) => {
    if (!namesOf(r).includes(name)) return false;
    const group = r.group || 'core';
    return rest === group || rest === `${r.version}.${group}` || (r.group === '' && rest === r.version);
  });
}

/** Every resource in a category (`kubectl get all`, `kubectl get cilium`). */
export function resourcesInCategory(category: string): ResourceInfo[] {
  const c = category.toLowerCase();
  return RESOURCES.filter((r) => r.categories.includes(c));
}
