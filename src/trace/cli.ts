// `podpath trace` and `podpath whatif`: ask the cluster's daemon (it owns the
// maps) and print its answer as text or JSON.

import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { CliError, resolveCluster } from '../cli/daemon-client.js';
import type { KubeObject } from '../k8s/types.js';
import { parseManifests, TRACE_PATH, WHATIF_PATH } from './api.js';
import { formatTrace } from './format.js';
import type { TraceResult } from './model.js';
import { TraceError } from './trace.js';
import { formatWhatIf, type WhatIfResult } from './whatif.js';

function postJson(socketPath: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch {
          reject(new CliError(`the podpath daemon answered ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', (e) => reject(new CliError(`cannot reach the podpath daemon: ${e.message}`)));
    req.end(JSON.stringify(body));
  });
}

function manifests(files: string[] | undefined): KubeObject[] {
  const out: KubeObject[] = [];
  for (const f of files ?? []) {
    let text: string;
    try {
      text = readFileSync(f === '-' ? 0 : f, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read ${f}: ${(e as Error).message}`);
    }
    try {
      out.push(...parseManifests(text, f));
    } catch (e) {
      throw new CliError(e instanceof TraceError ? e.message : `${f}: ${(e as Error).message}`);
    }
  }
  return out;
}

function output(o: string | undefined): 'text' | 'json' {
  if (o === undefined || o === 'text' || o === 'wide') return 'text';
  if (o === 'json') return 'json';
  throw new CliError(`unknown output format "${o}": use text or json`, 2);
}

export interface TraceCliOptions {
  name?: string;
  port?: string;
  protocol?: string;
  httpMethod?: string;
  httpPath?: string;
  reply?: boolean;
  output?: string;
  with?: string[];
  without?: string[];
  record?: boolean;
  verbose?: boolean;
}

export async function traceCli(src: string, dst: string, o: TraceCliOptions, write: (s: string) => void): Promise<number> {
  const format = output(o.output);
  const port = o.port !== undefined ? Number(o.port) : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new CliError(`invalid --port "${o.port}"`, 2);
  const body = {
    src,
    dst,
    ...(port !== undefined ? { port } : {}),
    ...(o.protocol ? { protocol: o.protocol.toLowerCase() } : {}),
    ...(o.httpMethod ? { httpMethod: o.httpMethod } : {}),
    ...(o.httpPath ? { httpPath: o.httpPath } : {}),
    reply: !!o.reply,
    record: !!o.record,
    ...(o.with?.length ? { with: manifests(o.with) } : {}),
    ...(o.without?.length ? { without: o.without } : {}),
  };
  const paths = await resolveCluster(o.name);
  const r = await postJson(paths.socket, TRACE_PATH, body);
  if (r.status !== 200) throw new CliError((r.body as { error?: string }).error ?? `trace failed (${r.status})`);
  const t = r.body as TraceResult;
  write(format === 'json' ? JSON.stringify(t, null, 2) + '\n' : formatTrace(t, { verbose: !!o.verbose }));
  return 0;
}

export interface WhatIfCliOptions {
  name?: string;
  without?: string[];
  namespace?: string[];
  output?: string;
}

export async function whatIfCli(files: string[], o: WhatIfCliOptions, write: (s: string) => void): Promise<number> {
  const format = output(o.output);
  if (!files.length && !o.without?.length) throw new CliError('whatif: give a manifest file (FILE.yaml, - for stdin) or --without KIND/NS/NAME', 2);
  const body = { with: manifests(files), ...(o.without?.length ? { without: o.without } : {}), ...(o.namespace?.length ? { namespaces: o.namespace } : {}) };
  const paths = await resolveCluster(o.name);
  const r = await postJson(paths.socket, WHATIF_PATH, body);
  if (r.status !== 200) throw new CliError((r.body as { error?: string }).error ?? `whatif failed (${r.status})`);
  const w = r.body as WhatIfResult;
  write(format === 'json' ? JSON.stringify(w, null, 2) + '\n' : formatWhatIf(w));
  return 0;
}
