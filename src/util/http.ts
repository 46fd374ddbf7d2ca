// Small pieces the daemon's own HTTP routes share (the apiserver has its
// own, with Kubernetes' headers and Status bodies, in k8s/http.ts).

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
