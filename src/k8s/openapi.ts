// Just enough OpenAPI v3 for kubectl: a root listing each group version and,
// per group version, the PATCH operations with their group-version-kind and
// the `fieldValidation` query parameter. kubectl reads these to learn that
// the server validates fields itself (so it sends fieldValidation=Strict
// instead of validating client-side), and falls back to its compiled-in types
// for strategic merge patches. Schemas are not published (no `kubectl explain`).

import { createHash } from 'node:crypto';
import { RESOURCES, apiVersionOf, type ResourceInfo } from './resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function objectUrl(r: ResourceInfo): string {
  const root = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced ? `${root}/namespaces/{namespace}/${r.plural}/{name}` : `${root}/${r.plural}/{name}`;
}

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function patchOperation(r: ResourceInfo): object {
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json'];
  return {
    patch: {
      description: `partially update the specified ${r.kind}`,
      operationId: `patch${r.kind}`,
      parameters: QUERY_PARAMS.map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' } })),
      requestBody: { content: Object.fromEntries(patchTypes.map((t) => [t, { schema: { type: 'object' } }])), required: true },
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } },
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
    },
  };
}

/** The OpenAPI v3 document of one group version, or undefined when nothing is served there. */
export function openApiGroupVersion(group: string, version: string): object | undefined {
  const served = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (!served.length) return undefined;
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-podpath' },
    paths: Object.fromEntries(served.map((r) => [objectUrl(r), patchOperation(r)])),
    components: { schemas: {} },
  };
}

/** The /openapi/v3 index: one entry per served group version, with a content hash for client caches. */
export function openApiRoot(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of new Set(RESOURCES.map(apiVersionOf))) {
    const slash = gv.indexOf('/');
    const group = slash < 0 ? '' : gv.slice(0, slash);
    const version = slash < 0 ? gv : gv.slice(slash + 1);
    const doc = openApiGroupVersion(group, version);
    const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 64).toUpperCase();
    const path = gvPath(group, version);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}
