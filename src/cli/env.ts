// `podpath env` / `podpath shell`: put the cluster's kubectl, cilium,
// cilium-dbg and hubble on PATH. Each is a tiny script calling back into
// podpath with the cluster's name, so several clusters can be used side by side.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterPaths } from '../cluster/paths.js';
import { kubeconfigPath } from '../cluster/kubeconfig.js';

const here = dirname(fileURLToPath(import.meta.url));
const PODPATH_BIN = join(here, '..', '..', '..', 'bin', 'podpath.js');

/** The front ends a lab types, and the podpath subcommand behind each. */
export const SHIMS: Record<string, string> = {
  kubectl: 'kubectl',
  cilium: 'cilium',
  'cilium-dbg': 'cilium',
  hubble: 'hubble',
  podpath: '',
};

/** Shell-quote for POSIX sh (single quotes). */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function ensureFrontEnds(paths: ClusterPaths): string {
  const dir = join(paths.dir, 'bin');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, sub] of Object.entries(SHIMS)) {
    const file = join(dir, name);
    const target = `${shQuote(process.execPath)} ${shQuote(PODPATH_BIN)}`;
    // Front ends use the cluster they were made for unless the user chose another.
    const body = sub
      ? `#!/bin/sh\nPODPATH_CLUSTER="\${PODPATH_CLUSTER:-${paths.name}}" exec ${target} ${sub} "$@"\n`
      : `#!/bin/sh\nexec ${target} "$@"\n`;
    writeFileSync(file, body, { mode: 0o700 });
    chmodSync(file, 0o700);
  }
  return dir;
}

/** The lines `eval "$(podpath env)"` runs. */
export function envLines(paths: ClusterPaths, home: string): string {
  const bin = ensureFrontEnds(paths);
  return [
    `export PODPATH_HOME=${shQuote(home)}`,
    `export PODPATH_CLUSTER=${shQuote(paths.name)}`,
    `export PATH=${shQuote(bin)}:"$PATH"`,
    `export KUBECONFIG=${shQuote(kubeconfigPath(paths))}`,
    `# Run this command to configure your shell:`,
    `# eval "$(podpath env${paths.name === 'kind' ? '' : ` --name ${paths.name}`})"`,
    '',
  ].join('\n');
}

/** `podpath shell`: an interactive shell with the front ends on PATH. */
export function openShell(paths: ClusterPaths, home: string): Promise<number> {
  const bin = ensureFrontEnds(paths);
  const shell = process.env['SHELL'] || '/bin/bash';
  const child = spawn(shell, [], {
    stdio: 'inherit',
    env: { ...process.env, PODPATH_HOME: home, PODPATH_CLUSTER: paths.name, KUBECONFIG: kubeconfigPath(paths), PATH: `${bin}:${process.env['PATH'] ?? ''}` },
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
}
