// Small pieces the daemon's own HTTP routes and their clients share (the
// apiserver has its own, with Kubernetes' headers and Status bodies, in
// k8s/http.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';

/** The request body as UTF-8 text; rejects (and drops the connection) past `limit` bytes. */
export function readTextBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * Read a streamed response of one JSON value per line (watch events, exec
 * frames, flows), handing each to `each` as soon as its line is complete.
 * Blank lines are skipped.
 */
export function onJsonLines(res: IncomingMessage, each: (value: unknown) => void): void {
  let pending = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) each(JSON.parse(line));
    }
  });
}
