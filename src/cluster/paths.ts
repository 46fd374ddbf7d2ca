// Where a cluster's state lives: $PODPATH_HOME (default ~/.podpath), one
// folder per cluster name, mode 0700 so nobody else can reach its socket.

import { existsSync, mkdirSync, readdirSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** kind's default, so nodes are named kind-control-plane, kind-worker, ... as the labs show. */
export const DEFAULT_CLUSTER_NAME = 'kind';

export function podpathHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['PODPATH_HOME'] || join(homedir(), '.podpath');
}

export interface ClusterPaths {
  name: string;
  dir: string;
  socket: string;
  db: string;
  pid: string;
  log: string;
  conntrack: string;
  config: string;
}

export function clusterPaths(name: string, home = podpathHome()): ClusterPaths {
  const dir = join(home, name);
  return {
    name,
    dir,
    socket: join(dir, 'podpath.sock'),
    db: join(dir, 'state.db'),
    pid: join(dir, 'daemon.pid'),
    log: join(dir, 'daemon.log'),
    conntrack: join(dir, 'conntrack.bin'),
    config: join(dir, 'cluster.json'),
  };
}

/** Create the cluster folder (and the home) private to this user. */
export function ensurePrivateDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Cluster names with a folder under the home (running or not). */
export function knownClusters(home = podpathHome()): string[] {
  if (!existsSync(home)) return [];
  return readdirSync(home, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Kubernetes-style name check for cluster names (they become folder names). */
export function validClusterName(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name);
}
