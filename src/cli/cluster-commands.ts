// `podpath up | down | status | exec`: the cluster's lifecycle from the shell.

import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync, readFileSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { clusterPaths, DEFAULT_CLUSTER_NAME, ensurePrivateDir, knownClusters, podpathHome, validClusterName } from '../cluster/paths.js';
import { parseExecTarget } from '../cluster/exec-protocol.js';
import { CliError, daemonPid, execRemote, post, resolveCluster, socketAlive, status } from './daemon-client.js';
import { SHUTDOWN_PATH } from '../cluster/exec-protocol.js';
import { bashAvailable, runPodShell, shellScript } from './pod-shell.js';
import { readHubbleApiInfo } from '../hubble/grpc/endpoint.js';
import { ENGINE_V8_FLAGS } from '../util/engine-flags.js';

const here = dirname(fileURLToPath(import.meta.url));
export const DAEMON_ENTRY = join(here, '..', 'cluster', 'daemon-main.js');

export interface UpOptions {
  name?: string;
  workers?: string;
  demo?: boolean;
  config?: string;
  clock?: string;
}

export async function up(opts: UpOptions, out: (s: string) => void): Promise<number> {
  const name = opts.name ?? process.env['PODPATH_CLUSTER'] ?? DEFAULT_CLUSTER_NAME;
  if (!validClusterName(name)) throw new CliError(`invalid cluster name "${name}": use lower-case letters, digits and '-'`, 2);
  const clock = opts.clock ?? 'fast';
  if (clock !== 'fast' && clock !== 'realtime') throw new CliError(`invalid --clock "${clock}": use fast or realtime`, 2);
  let workers: number | undefined;
  if (opts.workers !== undefined) {
    workers = Number(opts.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 1000) throw new CliError(`invalid --workers "${opts.workers}": a whole number from 1 to 1000`, 2);
  }
  if (opts.config !== undefined && !existsSync(opts.config)) throw new CliError(`config file ${opts.config} not found`, 2);
  const home = podpathHome();
  ensurePrivateDir(home);
  const paths = clusterPaths(name, home);
  if (await socketAlive(paths.socket)) {
    out(`cluster "${name}" is already running\n`);
    return 0;
  }
  ensurePrivateDir(paths.dir);
  // The daemon runs the engine: it gets the engine's V8 flags (see engine-flags.ts).
  const args = [...ENGINE_V8_FLAGS, DAEMON_ENTRY, '--name', name, '--home', home, '--clock', clock];
  if (workers !== undefined) args.push('--workers', String(workers));
  if (opts.demo) args.push('--demo');
  if (opts.config) args.push('--config', opts.config);
  const log = openSync(paths.log, 'a', 0o600);
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  const started = Date.now();
  const ready = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => {
      buf += c;
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new CliError(`the podpath daemon exited (code ${code}) before it was ready; see ${paths.log}:\n${tail(paths.log)}`)));
  });
  child.stdout!.destroy();
  child.unref();
  if (!ready.startsWith('ready ')) throw new CliError(`the podpath daemon failed: ${ready.replace(/^error /, '')}`);
  const info = JSON.parse(ready.slice(6)) as { nodes: number; pods: number; restored: boolean; frontend?: string };
  const how = info.restored ? 'restored' : 'created';
  out(`cluster "${name}" is up (${how} in ${Date.now() - started} ms): ${info.nodes} nodes, ${info.pods} pods\n`);
  if (info.frontend) {
    const flag = name === DEFAULT_CLUSTER_NAME ? '' : ` --name ${name}`;
    out('\nNext, try:\n');
    out(`  npx podpath exec${flag} demo/${info.frontend} -- curl -s http://backend:8080/api/users\n`);
    out(`  npx podpath exec${flag} demo/${info.frontend} -- curl -v --max-time 5 http://backend:8080\n`);
    out(`  npx podpath status${flag}\n`);
    out(`(npx podpath down${flag} stops it; the cluster comes back as it was with npx podpath up${flag})\n`);
  }
  return 0;
}

function tail(path: string): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
}

/** Whether a process with this pid is running (signal 0 probes without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function down(opts: { name?: string }, out: (s: string) => void): Promise<number> {
  const paths = await resolveCluster(opts.name);
  if (!(await socketAlive(paths.socket))) {
    const pid = daemonPid(paths);
    if (pid !== null) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      if (existsSync(paths.pid)) unlinkSync(paths.pid);
    }
    out(`cluster "${paths.name}" is not running\n`);
    return 0;
  }
  const pid = daemonPid(paths);
  await post(paths.socket, SHUTDOWN_PATH, {});
  // Wait for the socket to go away (the daemon removes it as its last step), then for the process itself.
  for (let i = 0; i < 200 && (await socketAlive(paths.socket, 200)); i++) await new Promise((r) => setTimeout(r, 25));
  for (let i = 0; i < 200 && pid !== null && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  out(`cluster "${paths.name}" stopped\n`);
  return 0;
}

export async function showStatus(opts: { name?: string }, out: (s: string) => void): Promise<number> {
  const home = podpathHome();
  const names = opts.name ? [opts.name] : knownClusters(home);
  if (names.length === 0) {
    out('no podpath clusters (start one with `podpath up`)\n');
    return 0;
  }
  let anyDown = false;
  for (const n of names) {
    const p = clusterPaths(n, home);
    if (await socketAlive(p.socket)) {
      const s = await status(p.socket);
      out(`${n}: running (pid ${s.pid}, clock ${s.clock}, ${s.nodes.length} nodes, ${s.pods} pods)\n`);
      for (const node of s.nodes) out(`  ${node.name}\t${node.ip}\t${node.podCIDR}\n`);
      const hubble = readHubbleApiInfo(p.dir);
      if (hubble) out(`  hubble API: ${hubble.unix}, tls://${hubble.tls} (mutual TLS: ${p.dir}/hubble.json)\n`);
    } else {
      anyDown = true;
      out(`${n}: stopped\n`);
    }
  }
  return opts.name && anyDown ? 1 : 0;
}

export async function exec(target: string, argv: string[], opts: { name?: string }): Promise<number> {
  if (!parseExecTarget(target)) throw new CliError(`invalid target "${target}": use NAMESPACE/POD, node/NAME or host/NAME`, 2);
  if (argv.length === 0) throw new CliError('exec: a command is required after --', 2);
  const paths = await resolveCluster(opts.name);
  const shell = shellScript(argv);
  if (shell && bashAvailable()) {
    if (!(await socketAlive(paths.socket))) throw new CliError(`cluster "${paths.name}" is not running (start it with \`podpath up\`)`);
    return runPodShell(paths, target, shell.script, shell.args);
  }
  let stdin: string | undefined;
  if (!process.stdin.isTTY && process.stdin.readable && argv[0] === 'nc') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    stdin = Buffer.concat(chunks).toString('base64');
  }
  return execRemote(paths.socket, { target, argv, ...(stdin !== undefined ? { stdin } : {}) });
}
