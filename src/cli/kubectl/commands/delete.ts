// kubectl delete: by name, TYPE/NAME, -l, --all, or -f; prints `pod "x"
// deleted` for each and waits until the objects are gone, as kubectl does.

import { objectPath } from '../../../k8s/resources.js';
import type { Status } from '../../../k8s/status.js';
import type { KubeList, KubeObject } from '../../../k8s/types.js';
import type { KubectlContext, ResolvedType } from '../context.js';
import { aggregate, KubectlError, usageError, withSource } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { mapDocuments, readManifestSources, settleNamespaces } from '../manifests.js';
import { listPath, parseResourceArgs } from '../resource-args.js';

export const DELETE_FLAGS: FlagSpec[] = [
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'recursive', short: 'R', type: 'bool' },
  { name: 'kustomize', short: 'k', type: 'string' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'field-selector', type: 'string' },
  { name: 'all', type: 'bool' },
  { name: 'all-namespaces', short: 'A', type: 'bool' },
  { name: 'ignore-not-found', type: 'bool' },
  { name: 'wait', type: 'bool', default: true },
  { name: 'now', type: 'bool' },
  { name: 'force', type: 'bool' },
  { name: 'grace-period', type: 'int', default: -1 },
  { name: 'cascade', type: 'string', default: 'background', noValueDefault: 'background' },
  { name: 'timeout', type: 'duration', default: 0 },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'dry-run', type: 'string', default: 'none', noValueDefault: 'unchanged' },
  { name: 'interactive', short: 'i', type: 'bool' },
  { name: 'raw', type: 'string' },
];

interface Target {
  path: string;
  /** How the result line names it: `pod "x"`, `deployment.apps "x"`. */
  label: string;
  name: string;
  source?: string;
  kindName: string;
}

const PROPAGATION: Record<string, string> = { background: 'Background', foreground: 'Foreground', orphan: 'Orphan', true: 'Background', false: 'Orphan' };

function describeTarget(type: ResolvedType, name: string): string {
  return `${type.kindName} ${JSON.stringify(name)}`;
}

export async function runDelete(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  const files = f.list('filename');
  const selector = f.string('selector');
  const allNamespaces = f.bool('all-namespaces');
  const dryRun = f.string('dry-run');
  if (!['none', 'client', 'server'].includes(dryRun)) {
    throw usageError(dryRun === 'unchanged' ? '--dry-run flag without a value was specified. A value must be set, one of: "none", "server", or "client".' : `Invalid dry-run value (${dryRun}). Must be "none", "server", or "client".`);
  }
  const propagation = PROPAGATION[f.string('cascade')];
  if (!propagation) throw usageError(`invalid cascade value (${f.string('cascade')}). Must be "background", "foreground", or "orphan".`);
  const output = f.string('output');
  if (output && output !== 'name') throw usageError(`unable to match a printer suitable for the output format ${JSON.stringify(output)}, allowed formats are: name`);
  const gracePeriod = f.bool('now') ? 1 : f.bool('force') && f.int('grace-period') < 0 ? 0 : f.int('grace-period');
  if (f.bool('force') && gracePeriod === 0) {
    ctx.io.err('Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n');
  }

  const targets: Target[] = [];
  let listed = false;
  if (files.length) {
    if (f.args.length) throw usageError('when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well');
    const docs = await readManifestSources(ctx, files, f.bool('recursive'));
    if (!docs.length) throw usageError('no objects passed to delete');
    const mapped = mapDocuments(docs);
    settleNamespaces(ctx, mapped);
    for (const d of mapped) {
      const ns = d.resource.namespaced ? d.object.metadata?.namespace : undefined;
      const kindName = `${d.resource.kind.toLowerCase()}${d.resource.group ? '.' + d.resource.group : ''}`;
      targets.push({ path: objectPath(d.resource, d.name, ns), label: `${kindName} ${JSON.stringify(d.name)}`, name: d.name, source: d.source, kindName });
    }
  } else {
    if (f.args.length === 0) {
      throw new KubectlError(
        "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'",
      );
    }
    const parsed = parseResourceArgs(ctx, f.args);
    const byName = parsed.requests.some((r) => r.names);
    if (byName && (selector || f.bool('all'))) throw usageError('name cannot be provided when a selector is specified');
    if (!byName && !selector && !f.bool('all') && !f.string('field-selector')) throw usageError('resource(s) were provided, but no name was specified');
    const conn = await ctx.conn();
    for (const req of parsed.requests) {
      if (req.names) {
        for (const name of req.names) {
          const ns = req.type.info.namespaced ? ctx.namespace : undefined;
          targets.push({ path: objectPath(req.type.info, name, ns), label: describeTarget(req.type, name), name, kindName: req.type.kindName });
        }
        continue;
      }
      listed = true;
      const q = new URLSearchParams();
      if (selector) q.set('labelSelector', selector);
      if (f.string('field-selector')) q.set('fieldSelector', f.string('field-selector'));
      const list = await ctx.must(conn.list(listPath(ctx, req.type, allNamespaces, q)));
      for (const item of (list as KubeList).items) {
        const name = item.metadata.name ?? '';
        targets.push({ path: objectPath(req.type.info, name, item.metadata.namespace), label: describeTarget(req.type, name), name, kindName: req.type.kindName });
      }
    }
    if (listed && targets.length === 0) {
      const namespaced = parsed.requests.some((r) => r.type.info.namespaced);
      ctx.io.err(allNamespaces || !namespaced ? 'No resources found\n' : `No resources found in ${ctx.namespace} namespace.\n`);
      return 0;
    }
  }

  const conn = await ctx.conn();
  const failures: Status[] = [];
  const deleted: Target[] = [];
  const suffix = dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
  for (const t of targets) {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: propagation };
    if (gracePeriod >= 0) body['gracePeriodSeconds'] = gracePeriod;
    if (dryRun === 'server') body['dryRun'] = ['All'];
    const a = dryRun === 'client' ? await conn.get<KubeObject>(t.path) : await conn.request<KubeObject>('DELETE', t.path, { body });
    if (!a.ok) {
      if (a.status.reason === 'NotFound' && f.bool('ignore-not-found')) continue;
      failures.push(t.source ? withSource(a.status, 'deleting', t.source) : a.status);
      continue;
    }
    deleted.push(t);
    ctx.io.out(output === 'name' ? `${t.kindName}/${t.name}\n` : `${t.label} deleted${suffix}\n`);
  }
  if (dryRun === 'none' && f.bool('wait')) await waitUntilGone(ctx, deleted, f.duration('timeout'));
  const failed = aggregate(failures);
  if (failed) throw failed;
  return 0;
}

/** kubectl delete --wait: poll until each object is gone (finalizers and graceful deletion may keep it a while). */
async function waitUntilGone(ctx: KubectlContext, targets: Target[], timeoutMs: number): Promise<void> {
  const conn = await ctx.conn();
  const deadline = Date.now() + (timeoutMs > 0 ? timeoutMs : 60_000);
  for (const t of targets) {
    for (;;) {
      const a = await conn.get(t.path);
      if (!a.ok) break;
      if (Date.now() > deadline) throw usageError(`timed out waiting for the condition on ${t.kindName.split('.')[0]}s/${t.name}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

