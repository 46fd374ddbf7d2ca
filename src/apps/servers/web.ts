// The web workloads: a generic server for images we do not know (HTTP on
// each TCP containerPort, UDP echo on each UDP port), an nginx-like server,
// and the lab's demo backend (a small JSON API on 8080).

import { ipv4ToString } from '../../packet/ip.js';
import type { HttpRequest } from '../../packet/http.js';
import type { UdpSocket } from '../../net/stack/index.js';
import { HttpServer, Router, jsonReply, type HttpHandler, type RequestContext } from '../http.js';
import type { PodEnv, ServerApp, ServerHandle, ServerHooks, ServerSpec } from '../types.js';

function tcpPorts(spec: ServerSpec): number[] {
  return spec.ports.filter((p) => (p.protocol ?? 'TCP').toUpperCase() === 'TCP').map((p) => p.containerPort);
}

function udpPorts(spec: ServerSpec): number[] {
  return spec.ports.filter((p) => (p.protocol ?? 'TCP').toUpperCase() === 'UDP').map((p) => p.containerPort);
}

/** Opens HTTP servers and UDP echo sockets; a port already taken is skipped (the process would log EADDRINUSE). */
export function serveAll(
  env: PodEnv,
  http: { ports: number[]; handler: HttpHandler; serverHeader?: string; onRequest?: (req: HttpRequest, ctx: RequestContext, status: number) => void },
  udpEcho: number[],
  hooks: ServerHooks = {},
): ServerHandle {
  const servers: HttpServer[] = [];
  const sockets: UdpSocket[] = [];
  for (const port of new Set(http.ports)) {
    try {
      servers.push(new HttpServer(env.stack, port, http.handler, env.clock, { serverHeader: http.serverHeader, onRequest: http.onRequest }));
    } catch (e) {
      hooks.log?.(`listen tcp :${port}: bind: address already in use (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  for (const port of new Set(udpEcho)) {
    try {
      const sock = env.stack.udpBind(port);
      sock.onMessage = (bytes, ip, p) => sock.sendTo(ip, p, bytes);
      sockets.push(sock);
    } catch {
      hooks.log?.(`listen udp :${port}: bind: address already in use`);
    }
  }
  return {
    stop: () => {
      for (const s of servers) s.close();
      for (const s of sockets) s.close();
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Unknown images: every declared port answers, so connectivity can be tested whatever the image. */
export class GenericServer implements ServerApp {
  /** Ports served even when none are declared (an nginx-like frontend listens on 80 regardless). */
  constructor(private readonly implicitTcpPorts: number[] = []) {}

  start(env: PodEnv, spec: ServerSpec, hooks: ServerHooks = {}): ServerHandle {
    const handler: HttpHandler = (_req, ctx) => {
      const name = escapeHtml(env.podName);
      const body =
        `<!DOCTYPE html>\n<html>\n<head><title>${name}</title></head>\n<body>\n` +
        `<h1>${name}</h1>\n<p>Served by pod ${name} (${ipv4ToString(env.ip)}) in namespace ${escapeHtml(env.namespace)} on port ${ctx.localPort}.</p>\n` +
        `</body>\n</html>\n`;
      return { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body };
    };
    return serveAll(env, { ports: [...this.implicitTcpPorts, ...tcpPorts(spec)], handler }, udpPorts(spec), hooks);
  }
}

/** nginx's access log line ("combined" plus X-Forwarded-For, the image's default). */
function nginxAccessLog(env: PodEnv, req: HttpRequest, ctx: RequestContext, status: number, bytes: number): string {
  const d = new Date(env.clock.wallNow());
  const mon = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number): string => String(n).padStart(2, '0');
  const when = `${pad(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  const ua = req.headers.get('user-agent') ?? '-';
  const ref = req.headers.get('referer') ?? '-';
  return `${ipv4ToString(ctx.remoteIp)} - - [${when}] "${req.method} ${req.target} ${req.version}" ${status} ${bytes} "${ref}" "${ua}" "-"`;
}

const NGINX_WELCOME = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

function nginxError(status: number, reason: string, version: string): string {
  return `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx/${version}</center>\r\n</body>\r\n</html>\r\n`;
}

/** nginx with its default site: the welcome page at / and /index.html, its 404 page elsewhere. */
export class NginxServer implements ServerApp {
  constructor(readonly version = '1.27.3') {}

  start(env: PodEnv, spec: ServerSpec, hooks: ServerHooks = {}): ServerHandle {
    const version = this.version;
    const handler: HttpHandler = (req, ctx) => {
      const reply =
        ctx.path === '/' || ctx.path === '/index.html'
          ? { status: 200, headers: { 'Content-Type': 'text/html' }, body: NGINX_WELCOME }
          : { status: 404, headers: { 'Content-Type': 'text/html' }, body: nginxError(404, 'Not Found', version) };
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, headers: { 'Content-Type': 'text/html' }, body: nginxError(405, 'Not Allowed', version) };
      return reply;
    };
    hooks.log?.('/docker-entrypoint.sh: Configuration complete; ready for start up');
    return serveAll(
      env,
      {
        ports: [80, ...tcpPorts(spec)],
        handler,
        serverHeader: `nginx/${version}`,
        onRequest: (req, ctx, status) => hooks.log?.(nginxAccessLog(env, req, ctx, status, status === 200 ? NGINX_WELCOME.length : 153)),
      },
      udpPorts(spec),
      hooks,
    );
  }
}

export const DEMO_USERS = [
  { id: 1, name: 'Alice Johnson', email: 'alice@example.com', role: 'admin' },
  { id: 2, name: 'Bob Smith', email: 'bob@example.com', role: 'user' },
  { id: 3, name: 'Carol Williams', email: 'carol@example.com', role: 'user' },
];

/** The lab's backend: a JSON API on 8080 (and any declared TCP port). */
export class DemoBackendServer implements ServerApp {
  start(env: PodEnv, spec: ServerSpec, hooks: ServerHooks = {}): ServerHandle {
    const router = new Router()
      .get('/', () => jsonReply(200, { service: 'backend', status: 'ok' }))
      .get('/health', () => jsonReply(200, { status: 'healthy' }))
      .get('/healthz', () => jsonReply(200, { status: 'healthy' }))
      .get('/api/users', () => jsonReply(200, DEMO_USERS))
      .get(/^\/api\/users\/\d+$/, (_req, ctx) => {
        const id = Number(ctx.path.split('/').pop());
        const user = DEMO_USERS.find((u) => u.id === id);
        return user ? jsonReply(200, user) : jsonReply(404, { error: 'user not found' });
      });
    router.notFound = () => jsonReply(404, { error: 'not found' });
    router.methodNotAllowed = () => jsonReply(405, { error: 'method not allowed' });
    hooks.log?.('backend listening on :8080');
    return serveAll(
      env,
      {
        ports: [8080, ...tcpPorts(spec)],
        handler: router.handle,
        onRequest: (req, ctx, status) => hooks.log?.(`${ipv4ToString(ctx.remoteIp)} - "${req.method} ${req.target} ${req.version}" ${status}`),
      },
      udpPorts(spec),
      hooks,
    );
  }
}
