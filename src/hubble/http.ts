// The daemon's Hubble routes (on its private socket):
//   POST /podpath/v1/hubble/flows     GetFlows as NDJSON: {"flow":…} | {"notice":…} | {"error":…}
//   GET  /podpath/v1/hubble/status    {"status": ServerStatus, "now": wall ms}
//   GET  /podpath/v1/hubble/nodes     GetNodes
//   GET  /podpath/v1/hubble/metrics   Prometheus text
// `?node=NAME` (or "node" in the flows body) asks one node's observer.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GetFlowsRequest } from './observer.js';
import type { HubbleBackend } from './relay.js';
import { readTextBody, sendJson } from '../util/http.js';

const MAX_FLOWS_REQUEST = 1 << 20;

export const HUBBLE_ROUTE_PREFIX = '/podpath/v1/hubble/';

export interface HubbleService {
  backend(node?: string): HubbleBackend;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  /** The cluster clock's wall time (ms). */
  now(): number;
}

/** Serve one request under HUBBLE_ROUTE_PREFIX. */
export async function serveHubble(req: IncomingMessage, res: ServerResponse, hubble: HubbleService): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://podpath');
  const route = url.pathname.slice(HUBBLE_ROUTE_PREFIX.length);
  const nodeParam = url.searchParams.get('node') ?? undefined;
  let backend: HubbleBackend;
  try {
    if (route === 'metrics' && req.method === 'GET') {
      const text = await hubble.metricsText();
      res.writeHead(200, { 'content-type': hubble.metricsContentType });
      res.end(text);
      return;
    }
    if (route === 'status' && req.method === 'GET') {
      backend = hubble.backend(nodeParam);
      return sendJson(res, 200, { status: await backend.serverStatus(), now: hubble.now() });
    }
    if (route === 'nodes' && req.method === 'GET') {
      backend = hubble.backend(nodeParam);
      return sendJson(res, 200, await backend.nodes());
    }
  } catch (e) {
    return sendJson(res, 400, { error: (e as Error).message });
  }
  if (route !== 'flows' || req.method !== 'POST') return sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });

  let body: Omit<GetFlowsRequest, 'number'> & { node?: string; number?: number | 'all' };
  try {
    body = JSON.parse(await readTextBody(req, MAX_FLOWS_REQUEST)) as typeof body;
  } catch {
    return sendJson(res, 400, { error: 'hubble flows: the request is not JSON' });
  }
  try {
    backend = hubble.backend(body.node);
  } catch (e) {
    return sendJson(res, 400, { error: (e as Error).message });
  }
  const { node: _node, number, ...rest } = body;
  void _node;
  const request: GetFlowsRequest = { ...rest, ...(number === 'all' ? { number: Infinity } : typeof number === 'number' ? { number } : {}) };
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  try {
    await backend.getFlows(request, { flow: (f) => res.write(`{"flow":${JSON.stringify(f)}}\n`), notice: (m) => res.write(JSON.stringify({ notice: m }) + '\n') }, abort.signal);
  } catch (e) {
    res.write(JSON.stringify({ error: (e as Error).message }) + '\n');
  }
  res.end();
}
