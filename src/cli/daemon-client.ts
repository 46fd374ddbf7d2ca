// Talking to a cluster's daemon over its private unix socket.

import { request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { clusterPaths, knownClusters, podpathHome, type ClusterPaths } from '../cluster/paths.js';
import { onJsonLines } from '../util/http.js';
import { EXEC_PATH, STATUS_PATH, type DaemonStatus, type ExecFrame, type ExecRequest } from '../cluster/exec-protocol.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Is a daemon answering on this socket? */
export function socketAlive(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(socketPath)) return resolve(false);
    const req = request({ socketPath, path: '/healthz', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export function daemonPid(paths: ClusterPaths): number | null {
  if (!existsSync(paths.pid)) return null;
  const pid = Number(readFileSync(paths.pid, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Which cluster a command means: --name, else $PODPATH_CLUSTER, else the only
 * running one. Errors say what to do.
 */
export async function resolveCluster(name: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ClusterPaths> {
  const home = podpathHome(env);
  const chosen = name ?? env['PODPATH_CLUSTER'];
  if (chosen) return clusterPaths(chosen, home);
  const running: string[] = [];
  for (const n of knownClusters(home)) if (await socketAlive(clusterPaths(n, home).socket)) running.push(n);
  if (running.length === 1) return clusterPaths(running[0]!, home);
  if (running.length === 0) throw new CliError('no podpath cluster is running (start one with `podpath up`)');
  throw new CliError(`several clusters are running (${running.join(', ')}): pick one with --name or PODPATH_CLUSTER`);
}

export function getJson<T>(socketPath: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export function status(socketPath: string): Promise<DaemonStatus> {
  return getJson<DaemonStatus>(socketPath, STATUS_PATH);
}

export function post(socketPath: string, path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Run a command in the cluster, streaming its output to ours; resolves to its exit code. */
export function execRemote(socketPath: string, req: ExecRequest, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ socketPath, path: EXEC_PATH, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let exit: number | null = null;
      onJsonLines(res, (value) => {
        const f = value as ExecFrame;
        if ('fd' in f) (f.fd === 1 ? out : err).write(Buffer.from(f.data, 'base64'));
        else {
          if ('error' in f) err.write(f.error.endsWith('\n') ? f.error : f.error + '\n');
          exit = f.exit;
        }
      });
      res.on('end', () => resolve(exit ?? 1));
      res.on('error', reject);
    });
    r.on('error', (e) => reject(new CliError(`cannot reach the podpath daemon: ${(e as Error).message}`)));
    r.end(JSON.stringify(req));
  });
}
