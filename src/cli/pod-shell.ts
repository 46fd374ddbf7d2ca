// `podpath exec POD -- sh -c '...'` runs a real shell (bash) on this machine
// whose PATH holds the pod's tools: each tool is a shim that runs back inside
// the pod through the daemon. Loops, pipes and redirects are bash's own.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterPaths } from '../cluster/paths.js';

/** The tools that must run in the pod's network namespace (the rest are the shell's). */
export const POD_TOOLS = ['curl', 'wget', 'nc', 'netcat', 'ping', 'nslookup', 'dig', 'agnhost', 'hostname', 'cat'];

const SHELLS = new Set(['sh', 'bash', 'ash']);
const here = dirname(fileURLToPath(import.meta.url));
const PODPATH_BIN = join(here, '..', '..', '..', 'bin', 'podpath.js');

/** `sh -c SCRIPT [ARG0 ARGS...]`: the form kubectl users type. */
export function shellScript(argv: string[]): { script: string; args: string[] } | null {
  const base = (argv[0] ?? '').slice((argv[0] ?? '').lastIndexOf('/') + 1);
  if (!SHELLS.has(base) || argv[1] !== '-c' || argv.length < 3) return null;
  return { script: argv[2]!, args: argv.slice(3) };
}

export function bashAvailable(): boolean {
  return existsSync('/bin/bash') || existsSync('/usr/bin/bash');
}

/** Write (idempotently) the shim folder for a cluster. */
export function ensureShims(paths: ClusterPaths): string {
  const dir = join(paths.dir, 'pod-tools');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const tool of POD_TOOLS) {
    const file = join(dir, tool);
    const body = `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(PODPATH_BIN)} exec --name "$PODPATH_CLUSTER" "$PODPATH_EXEC_TARGET" -- ${tool} "$@"\n`;
    writeFileSync(file, body, { mode: 0o700 });
    chmodSync(file, 0o700);
  }
  return dir;
}

/** Run the script in bash with the pod's tools first on PATH; resolves to bash's exit code. */
export function runPodShell(paths: ClusterPaths, target: string, script: string, args: string[]): Promise<number> {
  const shims = ensureShims(paths);
  const child = spawn('bash', ['-c', script, ...args], {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${shims}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, PODPATH_CLUSTER: paths.name, PODPATH_EXEC_TARGET: target },
  });
  // `kill $PID` of this exec stops the shell too, as it would stop kubectl exec's remote process.
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGKILL' ? 137 : 143));
    });
  });
}
