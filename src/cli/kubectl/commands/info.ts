// kubectl version, api-resources, api-versions and config (view,
// current-context, get-contexts): what the cluster is and how it is reached.

import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { SERVER_VERSION } from '../../../k8s/discovery.js';
import { apiVersionOf, RESOURCES, type ResourceInfo } from '../../../k8s/resources.js';
import { resolveCluster } from '../../daemon-client.js';
import { kubeconfigPath } from '../../../cluster/kubeconfig.js';
import type { KubectlContext } from '../context.js';
import { KubectlError, statusLine, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { goJson } from '../go-format.js';
import { goYaml } from '../go-yaml.js';
import { newTableWriter } from '../printers.js';

/** This kubectl is built from the same tree as the apiserver; only its platform is the local one. */
export const CLIENT_VERSION = Object.freeze({
  ...SERVER_VERSION,
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
});

// ---- version -----------------------------------------------------------------------------

export const VERSION_FLAGS: FlagSpec[] = [
  { name: 'client', type: 'bool' },
  { name: 'output', short: 'o', type: 'string' },
];

export async function runVersion(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  const output = f.string('output');
  if (output && output !== 'json' && output !== 'yaml') throw usageError('--output must be \'yaml\' or \'json\'');
  let server: Record<string, string> | undefined;
  let failure: string | undefined;
  if (!f.bool('client')) {
    const conn = await ctx.conn();
    const a = await conn.get<Record<string, string>>('/version');
    if (a.ok) server = a.value;
    else failure = statusLine(a.status);
  }
  if (output) {
    const doc: Record<string, unknown> = { clientVersion: CLIENT_VERSION };
    if (server) doc['serverVersion'] = server;
    ctx.io.out(output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : goYaml(doc));
  } else {
    ctx.io.out(`Client Version: ${CLIENT_VERSION.gitVersion}\n`);
    if (server) ctx.io.out(`Server Version: ${server['gitVersion'] ?? ''}\n`);
  }
  if (failure) throw new KubectlError(failure);
  return 0;
}

// ---- api-resources / api-versions -------------------------------------------------------------

export const API_RESOURCES_FLAGS: FlagSpec[] = [
  { name: 'namespaced', type: 'bool', default: true },
  { name: 'api-group', type: 'string' },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'no-headers', type: 'bool' },
  { name: 'sort-by', type: 'string' },
  { name: 'verbs', type: 'stringArray' },
  { name: 'categories', type: 'stringArray' },
  { name: 'cached', type: 'bool' },
];

function sortedResources(): ResourceInfo[] {
  return [...RESOURCES].sort((a, b) => {
    if (a.group !== b.group) return a.group === '' ? -1 : b.group === '' ? 1 : a.group < b.group ? -1 : 1;
    return a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0;
  });
}

export async function runApiResources(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  const output = f.string('output');
  if (output && output !== 'wide' && output !== 'name') throw usageError(`--output ${output} is not available`);
  let list = sortedResources();
  if (f.changed('namespaced')) list = list.filter((r) => r.namespaced === f.bool('namespaced'));
  if (f.changed('api-group')) list = list.filter((r) => r.group === f.string('api-group'));
  const verbs = f.list('verbs').flatMap((v) => v.split(','));
  if (verbs.length) list = list.filter((r) => verbs.every((v) => r.verbs.includes(v)));
  const categories = f.list('categories').flatMap((v) => v.split(','));
  if (categories.length) list = list.filter((r) => categories.every((c) => r.categories.includes(c)));
  if (f.string('sort-by') === 'name') list.sort((a, b) => (a.plural < b.plural ? -1 : 1));
  else if (f.string('sort-by') === 'kind') list.sort((a, b) => (a.kind < b.kind ? -1 : 1));
  if (output === 'name') {
    for (const r of list) ctx.io.out(`${r.plural}${r.group ? '.' + r.group : ''}\n`);
    return 0;
  }
  let text = f.bool('no-headers') ? '' : `NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND${output === 'wide' ? '\tVERBS\tCATEGORIES' : ''}\n`;
  for (const r of list) {
    text += `${r.plural}\t${r.shortNames.join(',')}\t${apiVersionOf(r)}\t${r.namespaced}\t${r.kind}`;
    if (output === 'wide') text += `\t${[...r.verbs].sort().join(',')}\t${r.categories.join(',')}`;
    text += '\n';
  }
  ctx.io.out(newTableWriter().format(text));
  return 0;
}

export async function runApiVersions(ctx: KubectlContext): Promise<number> {
  const versions = [...new Set(RESOURCES.map(apiVersionOf))].sort();
  for (const v of versions) ctx.io.out(`${v}\n`);
  return 0;
}

// ---- config ----------------------------------------------------------------------------------

export const CONFIG_VIEW_FLAGS: FlagSpec[] = [
  { name: 'raw', type: 'bool' },
  { name: 'minify', type: 'bool' },
  { name: 'flatten', type: 'bool' },
  { name: 'output', short: 'o', type: 'string', default: 'yaml' },
  { name: 'merge', type: 'bool', default: true },
];

interface Kubeconfig {
  apiVersion: string;
  clusters: { name: string; cluster: Record<string, unknown> }[] | null;
  contexts: { name: string; context: Record<string, unknown> }[] | null;
  'current-context': string;
  kind: string;
  preferences: Record<string, unknown>;
  users: { name: string; user: Record<string, unknown> }[] | null;
}

function readKubeconfig(file: string): Kubeconfig {
  const parsed = parseYaml(readFileSync(file, 'utf8')) as Partial<Kubeconfig> | null;
  return {
    apiVersion: parsed?.apiVersion ?? 'v1',
    clusters: parsed?.clusters ?? null,
    contexts: parsed?.contexts ?? null,
    'current-context': parsed?.['current-context'] ?? '',
    kind: parsed?.kind ?? 'Config',
    preferences: parsed?.preferences ?? {},
    users: parsed?.users ?? null,
  };
}

/** The kubeconfig in effect: $KUBECONFIG's file, else the one the cluster's daemon wrote, else one naming its socket. */
async function currentConfig(ctx: KubectlContext): Promise<Kubeconfig> {
  const file = ctx.flags.string('kubeconfig') || (ctx.io.env['KUBECONFIG'] ?? '').split(':')[0] || '';
  if (file && existsSync(file)) return readKubeconfig(file);
  if (file) {
    return { apiVersion: 'v1', clusters: null, contexts: null, 'current-context': '', kind: 'Config', preferences: {}, users: null };
  }
  let socket: string | undefined;
  let name = '';
  try {
    const paths = await resolveCluster(ctx.clusterName(), ctx.io.env);
    if (existsSync(kubeconfigPath(paths))) return readKubeconfig(kubeconfigPath(paths));
    socket = paths.socket;
    name = `podpath-${paths.name}`;
  } catch {
    socket = undefined;
  }
  if (!socket) return { apiVersion: 'v1', clusters: null, contexts: null, 'current-context': '', kind: 'Config', preferences: {}, users: null };
  return {
    apiVersion: 'v1',
    clusters: [{ name, cluster: { server: `unix://${socket}` } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    kind: 'Config',
    preferences: {},
    users: [{ name, user: {} }],
  };
}

function redact(config: Kubeconfig): Kubeconfig {
  const clean = (m: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(m)) out[k] = k.endsWith('-data') ? 'DATA+OMITTED' : k === 'token' || k === 'password' ? 'REDACTED' : v;
    return out;
  };
  return {
    ...config,
    clusters: config.clusters?.map((c) => ({ ...c, cluster: clean(c.cluster ?? {}) })) ?? null,
    users: config.users?.map((u) => ({ ...u, user: clean(u.user ?? {}) })) ?? null,
  };
}

export async function runConfigView(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  let config = await currentConfig(ctx);
  if (f.bool('minify')) {
    const current = config['current-context'];
    if (!current) throw usageError('current-context must exist in order to minify');
    const context = config.contexts?.find((c) => c.name === current);
    config = {
      ...config,
      contexts: context ? [context] : null,
      clusters: config.clusters?.filter((c) => c.name === context?.context['cluster']) ?? null,
      users: config.users?.filter((u) => u.name === context?.context['user']) ?? null,
    };
  }
  if (!f.bool('raw')) config = redact(config);
  const output = f.string('output');
  if (output === 'json') ctx.io.out(goJson(config, '    ') + '\n');
  else if (output === 'yaml') ctx.io.out(goYaml(config));
  else throw usageError(`unable to match a printer suitable for the output format ${JSON.stringify(output)}, allowed formats are: json,yaml`);
  return 0;
}

export async function runCurrentContext(ctx: KubectlContext): Promise<number> {
  const config = await currentConfig(ctx);
  if (!config['current-context']) throw usageError('current-context is not set');
  ctx.io.out(`${config['current-context']}\n`);
  return 0;
}

export async function runGetContexts(ctx: KubectlContext): Promise<number> {
  const config = await currentConfig(ctx);
  let text = 'CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE\n';
  for (const c of config.contexts ?? []) {
    const current = c.name === config['current-context'] ? '*' : '';
    text += `${current}\t${c.name}\t${String(c.context['cluster'] ?? '')}\t${String(c.context['user'] ?? '')}\t${String(c.context['namespace'] ?? '')}\n`;
  }
  ctx.io.out(newTableWriter().format(text));
  return 0;
}
