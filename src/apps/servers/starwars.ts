// The deathstar of Cilium's Star Wars demo (cilium/starwars): a go-swagger
// API on port 80. GET /v1 describes the station, POST /v1/request-landing
// lands a ship, PUT /v1/exhaust-port answers 503 with a goroutine dump and,
// as the real one does, panics two seconds later (the container exits 2).

import { HttpServer, Router, jsonReply, textReply, type HttpHandler } from '../http.js';
import type { PodEnv, ServerApp, ServerHandle, ServerHooks, ServerSpec } from '../types.js';

export const DEATHSTAR_PORT = 80;

export const EXHAUST_PORT_PANIC = [
  'Panic: deathstar exploded',
  '',
  'goroutine 1 [running]:',
  'main.HandleGarbage(0x2080c3f50, 0x2, 0x4, 0x425c0, 0x5, 0xa)',
  '        /code/src/github.com/empire/deathstar/',
  '        temp/main.go:9 +0x64',
  'main.main()',
  '        /code/src/github.com/empire/deathstar/',
  '        temp/main.go:5 +0x85',
  '',
].join('\n');

/** The station's description with this pod's hostname, as its GET /v1 prints it. */
export function deathstarInfo(hostname: string): string {
  const api = ['GET   /v1', 'GET   /v1/healthz', 'POST  /v1/request-landing', 'PUT   /v1/cargobay', 'GET   /v1/hyper-matter-reactor/status', 'PUT   /v1/exhaust-port'];
  const fields: [string, string][] = [
    ['name', 'Death Star'],
    ['hostname', hostname],
    ['model', 'DS-1 Orbital Battle Station'],
    ['manufacturer', 'Imperial Department of Military Research, Sienar Fleet Systems'],
    ['cost_in_credits', '1000000000000'],
    ['length', '120000'],
    ['crew', '342953'],
    ['passengers', '843342'],
    ['cargo_capacity', '1000000000000'],
    ['hyperdrive_rating', '4.0'],
    ['starship_class', 'Deep Space Mobile Battlestation'],
  ];
  // Tab-indented like the Go template it comes from.
  const lines = fields.map(([k, v]) => `\t${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  return `{\n${lines.join('\n')}\n\t"api": [\n${api.map((a) => `\t\t${JSON.stringify(a)}`).join(',\n')}\n\t]\n}\n`;
}

/** How long the deathstar survives its exhaust port being hit. */
const EXPLOSION_DELAY_MS = 2000;

export class DeathstarServer implements ServerApp {
  start(env: PodEnv, spec: ServerSpec, hooks: ServerHooks = {}): ServerHandle {
    let exploding = false;
    const allowedOn: Record<string, string> = { '/v1': 'GET', '/v1/request-landing': 'POST', '/v1/exhaust-port': 'PUT' };
    const router = new Router()
      .get('/v1', () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: deathstarInfo(env.hostname) }))
      .get('/v1/', () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: deathstarInfo(env.hostname) }))
      .add('POST', '/v1/request-landing', () => textReply(200, 'Ship landed\n', 'text/plain'))
      .add('PUT', '/v1/exhaust-port', () => {
        // The crash only makes sense with a runtime that restarts the container.
        if (!exploding && hooks.exit) {
          exploding = true;
          env.clock.setTimer(EXPLOSION_DELAY_MS, () => explode());
        }
        return textReply(503, EXHAUST_PORT_PANIC, 'text/plain');
      });
    // go-swagger's answers for unknown paths and wrong methods.
    router.notFound = (_req, ctx) => jsonReply(404, { code: 404, message: `path ${ctx.path} was not found` });
    router.methodNotAllowed = (req, ctx) => {
      const allowed = allowedOn[ctx.path.replace(/\/$/, '') || '/'] ?? 'GET';
      const r = jsonReply(405, { code: 405, message: `method ${req.method} is not allowed, but [${allowed}] are` });
      return { ...r, headers: { ...(r.headers as Record<string, string>), Allow: allowed } };
    };
    const handler: HttpHandler = router.handle;
    const ports = new Set([DEATHSTAR_PORT, ...spec.ports.filter((p) => (p.protocol ?? 'TCP').toUpperCase() === 'TCP').map((p) => p.containerPort)]);
    const servers = [...ports].map((p) => new HttpServer(env.stack, p, handler, env.clock));
    hooks.log?.(`Serving deathstar at http://[::]:${DEATHSTAR_PORT}`);
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      for (const s of servers) s.close();
    };
    const explode = (): void => {
      if (stopped) return;
      hooks.log?.('panic: deathstar exploded');
      hooks.log?.('');
      hooks.log?.('goroutine 35 [running]:');
      hooks.log?.('github.com/cilium/starwars-docker/restapi.configureAPI.func2.1()');
      hooks.log?.('\t/go/src/github.com/cilium/starwars-docker/restapi/configure_deathstar.go:64 +0x3c');
      stop();
      hooks.exit?.(2);
    };
    return { stop };
  }
}
