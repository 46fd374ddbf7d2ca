// Shared test setup: an apiserver on a fresh unix socket in a private temp
// directory, with a virtual clock and a seeded random source.

import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../../src/k8s/apiserver.js';
import { KubeClient } from '../../src/k8s/client.js';
import { Store } from '../../src/k8s/store.js';
import type { KubeObject } from '../../src/k8s/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';

export interface Harness {
  dir: string;
  socketPath: string;
  clock: VirtualClock;
  store: Store;
  api: ApiServer;
  client: KubeClient;
  /** Send exactly these bytes; the answer parsed as JSON when possible. */
  http(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export interface HttpAnswer {
  code: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'podpath-'));
}

export async function startApiServer(opts: { seed?: number; dbPath?: string; dir?: string; eventLogSize?: number } = {}): Promise<Harness> {
  const dir = opts.dir ?? tempDir();
  const socketPath = join(dir, 'apiserver.sock');
  const clock = new VirtualClock();
  const store = new Store({ path: opts.dbPath ?? ':memory:', clock, rng: new Rng(opts.seed ?? 7), ...(opts.eventLogSize ? { eventLogSize: opts.eventLogSize } : {}) });
  const api = new ApiServer({ store, clock });
  await api.listen(socketPath);
  const client = new KubeClient({ socketPath });
  const http = (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const allHeaders: Record<string, string> = {
        ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        ...headers,
      };
      // One connection per request: no keep-alive socket outlives the server between tests.
      const req = request({ socketPath, method, path, headers: allHeaders, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ code: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  return {
    dir,
    socketPath,
    clock,
    store,
    api,
    client,
    http,
    async close() {
      await api.close();
      store.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- minimal valid manifests -------------------------------------------------------

export function pod(name: string, labels: Record<string, string> = { app: 'web' }, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }], ...extra },
  };
}

export function deployment(name: string, labels: Record<string, string> = { app: name }): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] } },
    },
  };
}

export function service(name: string, selector: Record<string, string> = { app: 'web' }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}
