// Hubble UI's frontend container (quay.io/cilium/hubble-ui): nginx on 8081
// serving a single-page app, so every GET path answers with index.html. The
// page is podpath's stand-in for the app: it names the pod and says where the
// flows are, since podpath ships no Hubble UI bundle.

import { ipv4ToString } from '../../packet/ip.js';
import type { HttpHandler } from '../http.js';
import type { PodEnv, ServerApp, ServerHandle, ServerHooks, ServerSpec } from '../types.js';
import { serveAll } from './web.js';

/** The frontend's listen port (the chart's `hubble-ui` Service targets it from port 80). */
export const HUBBLE_UI_PORT = 8081;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function hubbleUiPage(env: PodEnv): string {
  const pod = escapeHtml(env.podName);
  return (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n' +
    '<meta name="viewport" content="width=device-width,initial-scale=1"/>\n<title>Hubble UI</title>\n</head>\n<body>\n' +
    '<div id="app">\n<h1>Hubble UI</h1>\n' +
    '<p>Network flows of this podpath cluster are one command away: ' +
    '<code>kubectl -n kube-system exec ds/cilium -- hubble observe --namespace demo --last 20</code>.</p>\n' +
    `<p>Served by pod ${pod} (${ipv4ToString(env.ip)}) in namespace ${escapeHtml(env.namespace)}.</p>\n` +
    '</div>\n</body>\n</html>\n'
  );
}

export class HubbleUiServer implements ServerApp {
  start(env: PodEnv, spec: ServerSpec, hooks: ServerHooks = {}): ServerHandle {
    const page = hubbleUiPage(env);
    const handler: HttpHandler = (req) =>
      req.method === 'GET' || req.method === 'HEAD'
        ? { status: 200, headers: { 'Content-Type': 'text/html' }, body: page }
        : { status: 405, headers: { 'Content-Type': 'text/html' }, body: '<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n<center><h1>405 Not Allowed</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n' };
    hooks.log?.('/docker-entrypoint.sh: Configuration complete; ready for start up');
    const declared = spec.ports.filter((p) => (p.protocol ?? 'TCP').toUpperCase() === 'TCP').map((p) => p.containerPort);
    return serveAll(env, { ports: [HUBBLE_UI_PORT, ...declared], handler, serverHeader: 'nginx' }, [], hooks);
  }
}
