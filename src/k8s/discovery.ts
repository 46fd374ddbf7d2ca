// Discovery documents (/api, /apis, /api/v1, /apis/<group>/<version>) and
// /version: what kubectl reads to learn which resources exist and how to
// spell them. Only the legacy (non-aggregated) discovery format is served;
// clients asking for aggregated discovery fall back to it.

import { RESOURCES, type ResourceInfo } from './resources.js';

export const SERVER_VERSION = Object.freeze({
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-podpath',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
});

/** Groups in the order the apiserver lists them: built-in groups, then CRD groups. */
function groupNames(): string[] {
  const names: string[] = [];
  for (const r of RESOURCES) if (r.group && !names.includes(r.group)) names.push(r.group);
  return names.sort((a, b) => {
    const aCrd = RESOURCES.some((r) => r.group === a && r.customResource);
    const bCrd = RESOURCES.some((r) => r.group === b && r.customResource);
    return aCrd === bCrd ? a.localeCompare(b) : aCrd ? 1 : -1;
  });
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(group: string): object {
  const versions = [...new Set(RESOURCES.filter((r) => r.group === group).map((r) => r.version))];
  const entries = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: entries, preferredVersion: entries[0] };
}

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupNames().map(groupDoc) };
}

export function apiGroup(group: string): object | undefined {
  if (!RESOURCES.some((r) => r.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group) };
}

function resourceEntries(r: ResourceInfo): object[] {
  const main: Record<string, unknown> = {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: [...r.verbs],
  };
  if (r.shortNames.length) main['shortNames'] = [...r.shortNames];
  if (r.categories.length) main['categories'] = [...r.categories];
  const subs = r.subresources.map((s) => ({
    name: `${r.plural}/${s}`,
    singularName: '',
    namespaced: r.namespaced,
    ...(s === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { kind: r.kind }),
    verbs: ['get', 'patch', 'update'],
  }));
  return [main, ...subs];
}

/** The APIResourceList of one group version, or undefined when nothing is served there. */
export function apiResourceList(group: string, version: string): object | undefined {
  const served = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (!served.length) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: served.flatMap(resourceEntries),
  };
}
