// A podpath cluster for kubectl tests: a daemon in a temp PODPATH_HOME (as
// test/cluster/daemon.test.ts starts one), podpath's kubectl run in-process
// against it, and the real kubectl (when one is on PATH) pointed at the same
// apiserver through the kubeconfig the daemon writes.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { down, up } from '../../src/cli/cluster-commands.js';
import { socketAlive } from '../../src/cli/daemon-client.js';
import { runKubectl } from '../../src/cli/kubectl/index.js';
import { kubeconfigPath } from '../../src/cluster/kubeconfig.js';
import { clusterPaths, type ClusterPaths } from '../../src/cluster/paths.js';

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export interface TestCluster {
  name: string;
  home: string;
  paths: ClusterPaths;
  env: NodeJS.ProcessEnv;
  /** podpath's kubectl, in this process. */
  kubectl(args: string[], opts?: { input?: string; cwd?: string; signal?: AbortSignal }): Promise<RunResult>;
  /** podpath's kubectl as a process (`podpath kubectl ...`), for exec's shell and signals. */
  kubectlProcess(args: string[], opts?: { input?: string; cwd?: string }): RunResult;
  /** The real kubectl, or undefined when there is none. */
  real: ((args: string[], opts?: { input?: string; cwd?: string }) => RunResult) | undefined;
  /** The real kubectl started in the background (stdin ignored, stdout/stderr piped), or undefined when there is none. */
  realSpawn: ((args: string[]) => ChildProcess) | undefined;
  /** The real kubectl's path and the environment it runs with (KUBECONFIG for this cluster), or undefined when there is none. */
  realCommand: { path: string; env: NodeJS.ProcessEnv } | undefined;
  stop(): Promise<void>;
}

export const PODPATH_BIN = join(process.cwd(), 'bin', 'podpath.js');

/** The real kubectl on PATH (never a podpath shim), or why it cannot be used. */
export function findRealKubectl(): { path: string } | { missing: string } {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir || dir.includes('podpath')) continue;
    const candidate = join(dir, 'kubectl');
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['version', '--client'], { encoding: 'utf8' });
    if (version.status === 0 && !/podpath/.test(version.stdout)) return { path: candidate };
  }
  return { missing: 'no real kubectl on PATH' };
}

const REAL = findRealKubectl();
export const REAL_KUBECTL_SKIP: string | false = 'missing' in REAL ? REAL.missing : false;

export async function startCluster(name: string): Promise<TestCluster> {
  const home = mkdtempSync(join(tmpdir(), 'podpath-kubectl-'));
  process.env['PODPATH_HOME'] = home;
  await up({ name, demo: true }, () => undefined);
  const paths = clusterPaths(name, home);
  const env: NodeJS.ProcessEnv = { ...process.env, PODPATH_HOME: home, PODPATH_CLUSTER: name };
  const scratch = mkdtempSync(join(tmpdir(), 'podpath-kubectl-home-'));

  const kubectl = async (args: string[], opts: { input?: string; cwd?: string; signal?: AbortSignal } = {}): Promise<RunResult> => {
    let out = '';
    let err = '';
    const cwd = process.cwd();
    if (opts.cwd) process.chdir(opts.cwd);
    try {
      const code = await runKubectl(args, {
        out: (s) => (out += s),
        err: (s) => (err += s),
        readStdin: () => Promise.resolve(opts.input ?? ''),
        env,
        stdinIsTTY: false,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return { code, out, err };
    } finally {
      if (opts.cwd) process.chdir(cwd);
    }
  };

  const kubectlProcess = (args: string[], opts: { input?: string; cwd?: string } = {}): RunResult => {
    const r = spawnSync(process.execPath, [PODPATH_BIN, 'kubectl', ...args], { encoding: 'utf8', env, input: opts.input ?? '', cwd: opts.cwd ?? process.cwd(), timeout: 120_000 });
    return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
  };

  const realEnv = { ...process.env, KUBECONFIG: kubeconfigPath(paths), HOME: scratch, KUBECACHEDIR: join(scratch, 'cache') };
  const real =
    'path' in REAL
      ? (args: string[], opts: { input?: string; cwd?: string } = {}): RunResult => {
          const r = spawnSync(REAL.path, args, {
            encoding: 'utf8',
            input: opts.input ?? '',
            cwd: opts.cwd ?? process.cwd(),
            env: realEnv,
            timeout: 60_000,
          });
          return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
        }
      : undefined;
  const realSpawn = 'path' in REAL ? (args: string[]): ChildProcess => spawn(REAL.path, args, { env: realEnv, stdio: ['ignore', 'pipe', 'pipe'] }) : undefined;

  return {
    name,
    home,
    paths,
    env,
    kubectl,
    kubectlProcess,
    real,
    realSpawn,
    realCommand: 'path' in REAL ? { path: REAL.path, env: realEnv } : undefined,
    async stop() {
      if (await socketAlive(paths.socket)) await down({ name }, () => undefined);
      rmSync(home, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * Ages (`5s`, `3m20s`, `2d`) tick between two runs: equal outright, or equal
 * once ages are blanked and runs of spaces collapsed.
 */
export function sameOutput(a: string, b: string): boolean {
  const norm = (t: string): string => t.replace(/(?<=\s|^)(\d+[smhdy])+(?=\s|$)/gm, '<age>').replace(/ +/g, ' ');
  return a === b || norm(a) === norm(b);
}

/** Cobra's "Error:" (this machine's kubectl build) and kubectl's usual "error:" are the same message. */
export function normalizeCobra(text: string): string {
  return text.replace(/^Error: /gm, 'error: ');
}
