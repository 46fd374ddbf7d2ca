// OpenAPI v3 for kubectl: a root listing each group version and, per group
// version, the PATCH operations with their group-version-kind and the
// `fieldValidation` query parameter (so kubectl leaves field validation to the
// server), and a schema per kind for `kubectl explain`. The schemas are made
// from the same zod schemas the apiserver decodes with, so explain lists
// exactly the fields podpath accepts; lists carry the strategic-merge keys the
// server merges by, so a kubectl that computes its patch from these schemas
// computes the same one as from its compiled-in types.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { builtinListMergeRules } from './patch.js';
import { RESOURCES, apiVersionOf, type ResourceInfo } from './resources.js';
import { schemaFor } from './validation/index.js';

type JsonSchema = Record<string, unknown>;

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

/** The schema's name as the apiserver publishes it: io.k8s.api.core.v1.Pod, io.cilium.v2.CiliumNetworkPolicy. */
export function schemaName(r: ResourceInfo): string {
  if (r.customResource) return `${r.group.split('.').reverse().join('.')}.${r.version}.${r.kind}`;
  const group = r.group === '' ? 'core' : r.group.replace(/\.k8s\.io$/, '');
  return `io.k8s.api.${group}.${r.version}.${r.kind}`;
}

const SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/**
 * JSON Schema (draft 2020-12, as zod emits it) → OpenAPI 3.0 as kube-openapi
 * reads it: no $schema, no propertyNames, no safe-integer bounds (zod's
 * artefact, not a rule), and the patch strategy on each list podpath's
 * strategic merge patch merges by key.
 */
function toOpenApi(node: unknown, kind: string | undefined, path: string[]): unknown {
  if (Array.isArray(node)) return node.map((n) => toOpenApi(n, kind, path));
  if (typeof node !== 'object' || node === null) return node;
  const src = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$schema' || k === 'propertyNames') continue;
    if ((k === 'minimum' && v === -SAFE_INTEGER) || (k === 'maximum' && v === SAFE_INTEGER)) continue;
    if (k === 'properties' && typeof v === 'object' && v !== null) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, child]) => [name, toOpenApi(child, kind, [...path, name])]));
    } else {
      out[k] = toOpenApi(v, kind, path);
    }
  }
  // An int-or-string (targetPort, maxSurge) is one type to kubectl: IntOrString.
  const alternatives = out['anyOf'];
  if (Array.isArray(alternatives) && alternatives.length === 2) {
    const types = alternatives.map((a) => (a as JsonSchema)['type']).sort();
    if (types[0] === 'integer' && types[1] === 'string') {
      delete out['anyOf'];
      out['allOf'] = [{ $ref: `#/components/schemas/${INT_OR_STRING}` }];
    }
  }
  if (out['type'] === 'array' && kind !== undefined) {
    const rule = builtinListMergeRules(kind, path);
    if (rule && 'mergeKey' in rule) {
      out['x-kubernetes-patch-merge-key'] = rule.mergeKey;
      out['x-kubernetes-patch-strategy'] = 'merge';
    } else if (rule) {
      out['x-kubernetes-patch-strategy'] = 'merge';
    }
  }
  return out;
}

function kindSchema(r: ResourceInfo): JsonSchema {
  const json = z.toJSONSchema(schemaFor(r), { io: 'input', unrepresentable: 'any' });
  const schema = toOpenApi(json, r.customResource ? undefined : r.kind, []) as JsonSchema;
  schema['x-kubernetes-group-version-kind'] = [{ group: r.group, kind: r.kind, version: r.version }];
  return schema;
}

const documents = new Map<string, object | undefined>();

/** The OpenAPI v3 document of one group version, or undefined when nothing is served there. */
export function openApiGroupVersion(group: string, version: string): object | undefined {
  const key = `${group}/${version}`;
  if (!documents.has(key)) {
    const served = RESOURCES.filter((r) => r.group === group && r.version === version);
    documents.set(
      key,
      served.length
        ? {
            openapi: '3.0.0',
            info: { title: 'Kubernetes', version: 'v1.32.0-podpath' },
            paths: Object.fromEntries(served.map((r) => [objectUrl(r), patchOperation(r)])),
            components: {
              schemas: {
                ...Object.fromEntries(served.map((r) => [schemaName(r), kindSchema(r)])),
                [INT_OR_STRING]: { 'x-kubernetes-int-or-string': true, format: 'int-or-string' },
              },
            },
          }
        : undefined,
    );
  }
  return documents.get(key);
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
