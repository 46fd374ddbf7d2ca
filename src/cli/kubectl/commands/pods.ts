// The commands that reach into pods: kubectl exec (POD, pod/NAME,
// deploy/NAME, ds/NAME, rs/NAME, svc/NAME: a workload's pod is picked the way
// kubectl picks it), kubectl logs and kubectl run. Commands run through the
// daemon's exec (podpath exec), `sh -c` in a real bash whose pod tools are
// shims back into the pod, as `podpath exec` does.

import { PassThrough } from 'node:stream';
import { collectionPath, objectPath, lookupResource } from '../../../k8s/resources.js';
import { selectorFromMap, selectorFromObject, type LabelSelectorObject } from '../../../k8s/selectors.js';
import type { KubeList, KubeObject } from '../../../k8s/types.js';
import { execRemote, resolveCluster, socketAlive } from '../../daemon-client.js';
import { bashAvailable, runPodShell, shellScript } from '../../pod-shell.js';
import type { KubectlContext } from '../context.js';
import { KubectlError, klogError, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { pickPod } from '../../../k8s/pod-order.js';

export { pickPod };
import { parseOutputFormat, printObjectFormat } from '../printers.js';

interface Container {
  name: string;
  image?: string;
}

export interface Pod extends KubeObject {
  spec?: { containers?: Container[]; initContainers?: Container[]; nodeName?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string; lastTransitionTime?: string }[]; containerStatuses?: { restartCount?: number }[] };
}

/** Resolve POD or TYPE/NAME to a pod. */
export async function resolvePod(ctx: KubectlContext, target: string): Promise<Pod> {
  const conn = await ctx.conn();
  const slash = target.indexOf('/');
  const typeText = slash < 0 ? 'pods' : target.slice(0, slash);
  const name = slash < 0 ? target : target.slice(slash + 1);
  const info = lookupResource(typeText);
  if (!info) throw usageError(`the server doesn't have a resource type ${JSON.stringify(typeText)}`);
  const obj = await ctx.must(conn.get<KubeObject>(objectPath(info, name, info.namespaced ? ctx.namespace : undefined)));
  if (info.kind === 'Pod') return obj as Pod;
  const spec = (obj['spec'] ?? {}) as { selector?: unknown };
  let selector: string;
  if (info.kind === 'Service') {
    if (!spec.selector || typeof spec.selector !== 'object') throw usageError(`invalid service '${name}': Service is defined without a selector`);
    selector = selectorFromMap(spec.selector as Record<string, string>).toString();
  } else if (['Deployment', 'ReplicaSet', 'DaemonSet'].includes(info.kind)) {
    selector = selectorFromObject((spec.selector ?? {}) as LabelSelectorObject).toString();
  } else {
    throw usageError(`cannot attach to ${info.kind}: not implemented`);
  }
  const pods = lookupResource('pods')!;
  const list = await ctx.must(conn.list(`${collectionPath(pods, ctx.namespace)}?labelSelector=${encodeURIComponent(selector)}`));
  const chosen = pickPod((list as KubeList<Pod>).items) as Pod | undefined;
  if (!chosen) throw usageError('timed out waiting for the condition');
  return chosen;
}

/** The container to use: -c, else the default-container annotation, else the first (saying so when there are several). */
function chooseContainer(ctx: KubectlContext, pod: Pod, given: string, quiet: boolean): string {
  const containers = pod.spec?.containers ?? [];
  const name = pod.metadata.name ?? '';
  if (given) {
    const all = [...containers, ...(pod.spec?.initContainers ?? [])];
    // The apiserver refuses the exec stream for an unknown container; kubectl shows its answer.
    if (!all.some((c) => c.name === given)) throw new KubectlError(`Error from server (BadRequest): container ${given} is not valid for pod ${name}`);
    return given;
  }
  const annotated = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && containers.some((c) => c.name === annotated)) return annotated;
  const first = containers[0]?.name ?? '';
  if (containers.length > 1 && !quiet) {
    const init = (pod.spec?.initContainers ?? []).map((c) => `${c.name} (init)`);
    ctx.io.err(`Defaulted container ${JSON.stringify(first)} out of: ${[...containers.map((c) => c.name), ...init].join(', ')}\n`);
  }
  return first;
}

function sink(write: (s: string) => void): NodeJS.WritableStream {
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => write(c.toString('utf8')));
  return stream;
}

/** Run argv in the pod; the command's exit code (kubectl prints "command terminated with exit code N"). */
async function execInPod(ctx: KubectlContext, pod: Pod, argv: string[], opts: { stdin: boolean; tty: boolean }): Promise<number> {
  const paths = await resolveCluster(ctx.clusterName(), ctx.io.env);
  if (!(await socketAlive(paths.socket))) throw usageError(`cluster "${paths.name}" is not running (start it with \`podpath up\`)`);
  const target = `${pod.metadata.namespace ?? ctx.namespace}/${pod.metadata.name ?? ''}`;
  const shell = shellScript(argv);
  let code: number;
  if (shell && ctx.io.interactiveProcess && bashAvailable()) {
    code = await runPodShell(paths, target, shell.script, shell.args);
  } else {
    let stdin: string | undefined;
    if (opts.stdin && !ctx.io.stdinIsTTY) stdin = Buffer.from(await ctx.io.readStdin(), 'utf8').toString('base64');
    const out = sink((s) => ctx.io.out(s));
    const err = sink((s) => ctx.io.err(s));
    code = await execRemote(paths.socket, { target, argv, ...(stdin !== undefined ? { stdin } : {}), ...(opts.tty ? { tty: true } : {}) }, out, err);
    // Let the sinks deliver what they hold.
    await new Promise((r) => setImmediate(r));
  }
  return code;
}

// ---- exec -----------------------------------------------------------------------------------

export const EXEC_FLAGS: FlagSpec[] = [
  { name: 'container', short: 'c', type: 'string' },
  { name: 'stdin', short: 'i', type: 'bool' },
  { name: 'tty', short: 't', type: 'bool' },
  { name: 'quiet', short: 'q', type: 'bool' },
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'pod-running-timeout', type: 'duration', default: 60_000 },
];

export async function runExec(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  const before = f.parsed.argsBeforeDash < 0 ? f.args : f.args.slice(0, f.parsed.argsBeforeDash);
  const command = f.parsed.argsBeforeDash < 0 ? [] : f.args.slice(f.parsed.argsBeforeDash);
  if (before.length === 0) throw usageError('pod, type/name or --filename must be specified');
  if (before.length > 1) {
    throw new KubectlError("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\nSee 'kubectl exec -h' for help and examples");
  }
  if (command.length === 0) throw usageError('you must specify at least one command for the container');
  const pod = await resolvePod(ctx, before[0]!);
  chooseContainer(ctx, pod, f.string('container'), f.bool('quiet'));
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
    throw usageError(`cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`);
  }
  if (f.bool('tty') && !f.bool('stdin') && !f.bool('quiet')) ctx.io.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
  else if (f.bool('tty') && !ctx.io.stdinIsTTY && !f.bool('quiet')) ctx.io.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
  const code = await execInPod(ctx, pod, command, { stdin: f.bool('stdin'), tty: f.bool('tty') && ctx.io.stdinIsTTY });
  if (code !== 0) throw new KubectlError(`command terminated with exit code ${code}`, code);
  return 0;
}

// ---- logs ------------------------------------------------------------------------------------

export const LOGS_FLAGS: FlagSpec[] = [
  { name: 'container', short: 'c', type: 'string' },
  { name: 'follow', short: 'f', type: 'bool' },
  { name: 'previous', short: 'p', type: 'bool' },
  { name: 'tail', type: 'int', default: -1 },
  { name: 'timestamps', type: 'bool' },
  { name: 'since', type: 'duration', default: 0 },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'all-containers', type: 'bool' },
  { name: 'prefix', type: 'bool' },
  { name: 'limit-bytes', type: 'int', default: 0 },
  { name: 'max-log-requests', type: 'int', default: 5 },
  { name: 'ignore-errors', type: 'bool' },
  { name: 'pod-running-timeout', type: 'duration', default: 20_000 },
];

export async function runLogs(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (f.args.length === 0 && !f.string('selector')) {
    throw new KubectlError(
      "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples",
    );
  }
  let pod: Pod;
  if (f.args.length) pod = await resolvePod(ctx, f.args[0]!);
  else {
    const conn = await ctx.conn();
    const list = await ctx.must(conn.list(`${collectionPath(lookupResource('pods')!, ctx.namespace)}?labelSelector=${encodeURIComponent(f.string('selector'))}`));
    const first = (list as KubeList<Pod>).items[0];
    if (!first) throw usageError(`no resources found in ${ctx.namespace} namespace`);
    pod = first;
  }
  const container = chooseContainer(ctx, pod, f.string('container') || (f.args[1] ?? ''), false);
  const conn = await ctx.conn();
  const q = new URLSearchParams({ container });
  if (f.int('tail') >= 0) q.set('tailLines', String(f.int('tail')));
  if (f.bool('timestamps')) q.set('timestamps', 'true');
  if (f.bool('previous')) q.set('previous', 'true');
  const path = `${objectPath(lookupResource('pods')!, pod.metadata.name ?? '', pod.metadata.namespace, 'log')}?${q.toString()}`;
  const a = await conn.request<string>('GET', path, { accept: 'text/plain, */*' });
  if (!a.ok) {
    if (a.status.code === 404 && a.status.message === 'the server could not find the requested resource') {
      throw usageError(
        `podpath's cluster does not serve container logs (pods/log) yet; to look inside ${pod.metadata.name}, use \`kubectl exec -n ${pod.metadata.namespace} ${pod.metadata.name} -- ...\``,
      );
    }
    throw new KubectlError(`Error from server (${a.status.reason ?? ''}): ${a.status.message ?? ''}`);
  }
  const text = typeof a.value === 'string' ? a.value : JSON.stringify(a.value);
  ctx.io.out(text);
  return 0;
}

// ---- run ---------------------------------------------------------------------------------------

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'image', type: 'string' },
  { name: 'restart', type: 'string', default: 'Always' },
  { name: 'labels', short: 'l', type: 'string' },
  { name: 'port', type: 'string' },
  { name: 'env', type: 'stringArray' },
  { name: 'command', type: 'bool' },
  { name: 'rm', type: 'bool' },
  { name: 'stdin', short: 'i', type: 'bool' },
  { name: 'tty', short: 't', type: 'bool' },
  { name: 'attach', type: 'bool' },
  { name: 'quiet', short: 'q', type: 'bool' },
  { name: 'image-pull-policy', type: 'string' },
  { name: 'annotations', type: 'stringArray' },
  { name: 'expose', type: 'bool' },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'dry-run', type: 'string', default: 'none' },
  { name: 'overrides', type: 'string' },
  { name: 'pod-running-timeout', type: 'duration', default: 60_000 },
  { name: 'privileged', type: 'bool' },
  { name: 'serviceaccount', type: 'string' },
];

function parseKeyValues(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usageError(`invalid ${what}: ${JSON.stringify(part)}`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export async function runRun(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  const before = f.parsed.argsBeforeDash < 0 ? f.args : f.args.slice(0, f.parsed.argsBeforeDash);
  const rest = f.parsed.argsBeforeDash < 0 ? f.args.slice(1) : f.args.slice(f.parsed.argsBeforeDash);
  if (!f.string('image')) {
    ctx.io.err(klogError('required flag(s) "image" not set'));
    return 1;
  }
  const name = before[0];
  if (!name) throw usageError('NAME is required for run');
  const restart = f.string('restart');
  if (!['Always', 'OnFailure', 'Never'].includes(restart)) throw usageError(`invalid restart policy: ${restart}`);
  if (f.bool('rm') && !(f.bool('stdin') || f.bool('attach') || f.bool('tty'))) throw usageError('--rm should only be used for attached containers');
  const labels = f.string('labels') ? parseKeyValues(f.string('labels'), 'label') : { run: name };
  const container: Record<string, unknown> = { name, image: f.string('image') };
  if (rest.length) container[f.bool('command') ? 'command' : 'args'] = rest;
  if (f.string('port')) container['ports'] = [{ containerPort: Number(f.string('port')) }];
  if (f.list('env').length) container['env'] = f.list('env').map((e) => ({ name: e.split('=')[0], value: e.slice(e.indexOf('=') + 1) }));
  if (f.string('image-pull-policy')) container['imagePullPolicy'] = f.string('image-pull-policy');
  if (f.bool('stdin')) container['stdin'] = true;
  if (f.bool('tty')) container['tty'] = true;
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, ...(f.list('annotations').length ? { annotations: parseKeyValues(f.list('annotations').join(','), 'annotation') } : {}) },
    spec: { containers: [container], restartPolicy: restart, dnsPolicy: 'ClusterFirst' },
  };
  const format = f.string('output') ? parseOutputFormat(f.string('output'), false) : undefined;
  const dryRun = f.string('dry-run');
  if (dryRun === 'client') {
    if (format && format.kind !== 'name') ctx.io.out(printObjectFormat(format, pod));
    else ctx.io.out(format ? `pod/${name}\n` : `pod/${name} created (dry run)\n`);
    return 0;
  }
  const conn = await ctx.conn();
  const podsInfo = lookupResource('pods')!;
  const q = dryRun === 'server' ? '?dryRun=All' : '';
  const created = await ctx.must(conn.request<KubeObject>('POST', collectionPath(podsInfo, ctx.namespace) + q, { body: pod }));
  const attach = f.bool('stdin') || f.bool('tty') || f.bool('attach');
  if (!attach) {
    if (format && format.kind !== 'name') ctx.io.out(printObjectFormat(format, created));
    else ctx.io.out(format ? `pod/${name}\n` : `pod/${name} created${dryRun === 'server' ? ' (server dry run)' : ''}\n`);
    return 0;
  }
  // Attach: podpath runs the pod's command through exec once the pod is running.
  const path = objectPath(podsInfo, name, ctx.namespace);
  const deadline = Date.now() + f.duration('pod-running-timeout');
  let running: Pod | undefined;
  while (Date.now() < deadline) {
    const a = await conn.get<Pod>(path);
    if (a.ok && a.value.status?.phase === 'Running') {
      running = a.value;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!running) throw usageError('timed out waiting for the condition');
  let code = 0;
  if (rest.length) {
    if (f.bool('tty') && !ctx.io.stdinIsTTY && !f.bool('quiet')) ctx.io.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
    code = await execInPod(ctx, running, rest, { stdin: f.bool('stdin'), tty: false });
  } else if (!f.bool('quiet')) {
    ctx.io.err("If you don't see a command prompt, try pressing enter.\n");
  }
  if (f.bool('rm')) {
    await conn.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
    ctx.io.out(`pod ${JSON.stringify(name)} deleted\n`);
  }
  if (code !== 0) throw new KubectlError(`pod ${ctx.namespace}/${name} terminated (Error)`, code);
  return 0;
}
