// What a command's resource arguments name: `TYPE[,TYPE] [NAME...]` or
// `TYPE/NAME [TYPE/NAME...]`, with kubectl's errors for the other shapes.

import { collectionPath, objectPath } from '../../k8s/resources.js';
import type { KubectlContext, ResolvedType } from './context.js';
import { usageError } from './errors.js';

export interface ResourceRequest {
  type: ResolvedType;
  /** Undefined: every object of the type (subject to selectors). */
  names?: string[];
}

export interface ParsedResourceArgs {
  requests: ResourceRequest[];
  /** One object named (TYPE NAME or TYPE/NAME): -o json|yaml print it alone, not in a List. */
  singleItem: boolean;
  /** Several types (or `all`): NAME cells carry `kind/`. */
  multipleTypes: boolean;
}

export function parseResourceArgs(ctx: KubectlContext, args: string[]): ParsedResourceArgs {
  const withSlash = args.filter((a) => a.includes('/'));
  if (withSlash.length > 0) {
    if (withSlash.length < args.length) {
      throw usageError(
        "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'",
      );
    }
    const requests: ResourceRequest[] = [];
    for (const arg of args) {
      const parts = arg.split('/');
      if (parts.length > 2) throw usageError('arguments in resource/name form may not have more than one slash');
      const [typeText, name] = parts as [string, string];
      if (!typeText || !name) throw usageError('arguments in resource/name form must have a single resource and name');
      const type = ctx.resolveType(typeText);
      const last = requests[requests.length - 1];
      if (last && last.type.info === type.info) last.names!.push(name);
      else requests.push({ type, names: [name] });
    }
    const types = new Set(requests.map((r) => r.type.info));
    return { requests, singleItem: args.length === 1, multipleTypes: types.size > 1 };
  }
  const [typeText, ...names] = args;
  const isAll = typeText!.split(',').some((t) => t.toLowerCase() === 'all');
  const types = ctx.resolveTypes(typeText!);
  const requests = types.map((type) => (names.length ? { type, names: [...names] } : { type }));
  return {
    requests,
    singleItem: names.length === 1 && types.length === 1 && !isAll,
    multipleTypes: types.length > 1 || isAll,
  };
}

/** The collection URL a request lists, in the command's namespace or all of them. */
export function listPath(ctx: KubectlContext, type: ResolvedType, allNamespaces: boolean, query?: URLSearchParams): string {
  const ns = type.info.namespaced && !allNamespaces ? ctx.namespace : undefined;
  const base = collectionPath(type.info, ns);
  const q = query?.toString();
  return q ? `${base}?${q}` : base;
}

export function itemPath(ctx: KubectlContext, type: ResolvedType, name: string, query?: URLSearchParams): string {
  const base = objectPath(type.info, name, type.info.namespaced ? ctx.namespace : undefined);
  const q = query?.toString();
  return q ? `${base}?${q}` : base;
}

/** How kubectl names a resource in list errors: `/v1, Resource=pods`, `apps/v1, Resource=deployments`. */
export function gvrString(type: ResolvedType): string {
  return `${type.info.group}/${type.info.version}, Resource=${type.info.plural}`;
}
