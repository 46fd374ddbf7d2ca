// agnhost (registry.k8s.io/e2e-test-images/agnhost), the Kubernetes e2e test
// image: `connect` with the fixed error prefixes e2e tests grep for
// (TIMEOUT, REFUSED, DNS, OTHER, UNKNOWN), and the `netexec`,
// `serve-hostname` and `pause` servers. Messages follow Go's net package.

import { ipv4ToString, parseIpv4Addr } from '../packet/ip.js';
import type { UdpSocket } from '../net/stack/index.js';
import { ConnectError, HttpClientError, HttpServer, Router, connectTcp, readHttpResponse, textReply, type HttpHandler, type HttpReply } from './http.js';
import { Aborted, abortable, clockTimeout, text, utf8 } from './proc.js';
import { ResolveError, Resolver } from './resolver.js';
import { parseFlags, type FlagDef } from './tools/flags.js';
import { signalExitCode, type AppCommand, type PodEnv, type ProcessIO, type ServerApp, type ServerHandle, type ServerHooks, type ServerSpec } from './types.js';
import { serializeRequest } from '../packet/http.js';

// ------------------------------------------------------------------ Go-isms

/** syscall.Errno.Error(): glibc's strerror, lower-cased. */
function goErrno(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** The "lookup X on S:53: ..." text of a *net.DNSError. */
function goDnsError(e: ResolveError, env: PodEnv): string {
  const server = e.server ?? env.resolv.nameservers[0];
  const on = server !== undefined ? ` on ${ipv4ToString(server)}:53` : '';
  if (e.kind === 'TIMEOUT' && server !== undefined) {
    return `lookup ${e.hostname}${on}: read udp ${ipv4ToString(env.ip)}:${e.localPort ?? 0}->${ipv4ToString(server)}:53: i/o timeout`;
  }
  if (e.kind === 'SERVFAIL') return `lookup ${e.hostname}${on}: server misbehaving`;
  if (e.kind === 'CONNREFUSED' && server !== undefined) {
    return `lookup ${e.hostname}${on}: read udp ${ipv4ToString(env.ip)}:${e.localPort ?? 0}->${ipv4ToString(server)}:53: read: connection refused`;
  }
  return `lookup ${e.hostname}${on}: no such host`;
}

/** net.SplitHostPort. */
function splitHostPort(hostport: string): { host: string; port: string } | string {
  const missing = `address ${hostport}: missing port in address`;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return `address ${hostport}: missing ']' in address`;
    if (hostport[end + 1] !== ':') return missing;
    return { host: hostport.slice(1, end), port: hostport.slice(end + 2) };
  }
  const colon = hostport.lastIndexOf(':');
  if (colon < 0) return missing;
  if (hostport.indexOf(':') !== colon) return `address ${hostport}: too many colons in address`;
  return { host: hostport.slice(0, colon), port: hostport.slice(colon + 1) };
}

const SERVICES: Record<string, number> = { http: 80, https: 443, domain: 53, ssh: 22 };

function portNumber(port: string, proto: string): number | string {
  if (/^[0-9]+$/.test(port)) return Number(port) <= 65535 ? Number(port) : `address ${port}: invalid port`;
  return SERVICES[port] ?? `lookup ${proto}/${port}: unknown port`;
}

/** Go's log package prefix: "2026/01/01 00:00:12 ". */
function goLogTime(env: PodEnv): string {
  const d = new Date(env.clock.wallNow());
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} `;
}

/** time.Now() printed with %v, monotonic reading included. */
function goTimeNow(env: PodEnv, processStartMs: number): string {
  const wall = env.clock.wallNow();
  const d = new Date(wall);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const nanos = p(Math.floor((wall % 1000) * 1e6), 9);
  const mono = ((env.clock.now() - processStartMs) / 1000).toFixed(9);
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${nanos} +0000 UTC m=+${mono}`;
}

// ------------------------------------------------------------------ connect

const CONNECT_FLAGS: FlagDef[] = [
  { name: 'timeout', kind: 'duration', default: 0 },
  { name: 'protocol', kind: 'string', default: 'tcp' },
  { name: 'udp-data', kind: 'string', default: 'hostname' },
  { name: 'sctp-data', kind: 'string', default: 'hostname' },
];

type Outcome = { exit: number; stderr?: string };

async function resolveAddr(env: PodEnv, host: string, signal: AbortSignal): Promise<number | ResolveError> {
  const literal = parseIpv4Addr(host);
  if (literal !== null) return literal;
  try {
    return (await new Resolver(env).lookup(host, { signal })).addresses[0]!;
  } catch (e) {
    if (e instanceof ResolveError) return e;
    throw e;
  }
}

async function connectTcpOutcome(env: PodEnv, dest: string, timeoutMs: number, signal: AbortSignal): Promise<Outcome> {
  const hp = splitHostPort(dest);
  if (typeof hp === 'string') return { exit: 1, stderr: `UNKNOWN: ${hp}\n` };
  const port = portNumber(hp.port, 'tcp');
  if (typeof port === 'string') return { exit: 1, stderr: `DNS: ${port}\n` };
  // net.ResolveTCPAddr first (its own lookup), then DialTimeout resolves again.
  const first = await resolveAddr(env, hp.host, signal);
  if (first instanceof ResolveError) return { exit: 1, stderr: `DNS: ${goDnsError(first, env)}\n` };
  const deadline = timeoutMs > 0 ? clockTimeout(env.clock, timeoutMs, 'timeout') : undefined;
  const dialSignal = deadline ? AbortSignal.any([signal, deadline.signal]) : signal;
  let ip = first;
  try {
    const again = await resolveAddr(env, hp.host, dialSignal);
    if (again instanceof ResolveError) return { exit: 1, stderr: `OTHER: dial tcp: ${goDnsError(again, env)}\n` };
    ip = again;
    const stream = await connectTcp(env.stack, ip, port, { signal: dialSignal });
    stream.close();
    return { exit: 0 };
  } catch (e) {
    if (e instanceof Aborted && e.reason === 'timeout') return { exit: 1, stderr: 'TIMEOUT\n' };
    if (e instanceof ConnectError) {
      if (e.error.code === 'ETIMEDOUT') return { exit: 1, stderr: 'TIMEOUT\n' };
      if (e.error.code === 'ECONNREFUSED') return { exit: 1, stderr: 'REFUSED\n' };
      return { exit: 1, stderr: `OTHER: dial tcp ${ipv4ToString(ip)}:${port}: connect: ${goErrno(e.error.message)}\n` };
    }
    throw e;
  } finally {
    deadline?.cancel();
  }
}

/** UDP: send data + "\n" on a connected socket and wait for any reply. */
async function connectUdpOutcome(env: PodEnv, dest: string, timeoutMs: number, data: string, signal: AbortSignal): Promise<Outcome> {
  const hp = splitHostPort(dest);
  if (typeof hp === 'string') return { exit: 1, stderr: `DNS: ${hp}\n` };
  const port = portNumber(hp.port, 'udp');
  if (typeof port === 'string') return { exit: 1, stderr: `DNS: ${port}\n` };
  const ip = await resolveAddr(env, hp.host, signal);
  if (ip instanceof ResolveError) return { exit: 1, stderr: `DNS: ${goDnsError(ip, env)}\n` };
  const sock = env.stack.udpBind();
  const rc = sock.connect(ip, port);
  const label = `udp ${ipv4ToString(env.ip)}:${sock.localPort}->${ipv4ToString(ip)}:${port}`;
  if (rc < 0) {
    sock.close();
    return { exit: 1, stderr: `OTHER: dial udp ${ipv4ToString(ip)}:${port}: connect: no route to host\n` };
  }
  const deadline = timeoutMs > 0 ? clockTimeout(env.clock, timeoutMs, 'timeout') : undefined;
  try {
    const reply = await abortable<Uint8Array | 'refused'>(deadline ? AbortSignal.any([signal, deadline.signal]) : signal, (resolve) => {
      sock.onMessage = (bytes) => resolve(bytes);
      sock.onError = (err) => {
        if (err.code === 'ECONNREFUSED') resolve('refused');
      };
      sock.send(utf8(`${data}\n`));
    });
    if (reply === 'refused') return { exit: 1, stderr: `REFUSED: read ${label}: read: connection refused\n` };
    if (reply.length === 0) return { exit: 1, stderr: 'OTHER: No data received from the server. Cannot guarantee the server received the request.\n' };
    return { exit: 0 };
  } catch (e) {
    if (e instanceof Aborted && e.reason === 'timeout') return { exit: 1, stderr: `TIMEOUT: read ${label}: i/o timeout\n` };
    throw e;
  } finally {
    deadline?.cancel();
    sock.close();
  }
}

async function connectCommand(env: PodEnv, args: string[], io: ProcessIO): Promise<number> {
  const parsed = parseFlags(args, CONNECT_FLAGS);
  if ('error' in parsed) return cobraError(io, parsed.error, 'agnhost connect [host:port] [flags]');
  if (parsed.positional.length !== 1) return cobraError(io, `accepts 1 arg(s), received ${parsed.positional.length}`, 'agnhost connect [host:port] [flags]');
  const dest = parsed.positional[0]!;
  const timeout = parsed.values.timeout as number;
  const protocol = parsed.values.protocol as string;
  let outcome: Outcome;
  try {
    switch (protocol) {
      case '':
      case 'tcp':
        outcome = await connectTcpOutcome(env, dest, timeout, io.signal);
        break;
      case 'udp':
        outcome = await connectUdpOutcome(env, dest, timeout, parsed.values['udp-data'] as string, io.signal);
        break;
      case 'sctp':
        // No SCTP in the pod stack: what socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) says without the module.
        outcome = { exit: 1, stderr: 'OTHER: socket: protocol not supported\n' };
        break;
      default:
        outcome = { exit: 1, stderr: `Unsupported protocol\n${protocol}` };
    }
  } catch (e) {
    if (e instanceof Aborted) return signalExitCode(io.signal);
    throw e;
  }
  if (outcome.stderr) io.stderr(outcome.stderr);
  return outcome.exit;
}

function cobraError(io: ProcessIO, message: string, usage: string): number {
  io.stderr(`Error: ${message}\nUsage:\n  ${usage}\n\n`);
  return 1;
}

// ------------------------------------------------------------------ servers

const NETEXEC_FLAGS: FlagDef[] = [
  { name: 'http-port', kind: 'int', default: 8080 },
  { name: 'udp-port', kind: 'int', default: 8081 },
  { name: 'sctp-port', kind: 'int', default: -1 },
  { name: 'http-override', kind: 'string', default: '' },
  { name: 'tls-cert-file', kind: 'string', default: '' },
  { name: 'tls-private-key-file', kind: 'string', default: '' },
  { name: 'udp-listen-addresses', kind: 'string', default: '' },
  { name: 'delay-shutdown', kind: 'int', default: 0 },
];

const SERVE_HOSTNAME_FLAGS: FlagDef[] = [
  { name: 'tcp', kind: 'bool', default: false },
  { name: 'udp', kind: 'bool', default: false },
  { name: 'http', kind: 'bool', default: true },
  { name: 'close', kind: 'bool', default: false },
  { name: 'port', kind: 'int', default: 9376 },
];

interface Running {
  handle: ServerHandle;
  /** Set when the program could not start: the exit code it dies with. */
  failed?: number;
}

/** Go's net/http answers with text/plain for text bodies and no Content-Type for an empty one. */
function goText(status: number, body: string): HttpReply {
  return body.length === 0 ? { status } : textReply(status, body);
}

function startNetexec(env: PodEnv, args: string[], log: (line: string) => void, exit: (code: number) => void): Running {
  const parsed = parseFlags(args, NETEXEC_FLAGS);
  if ('error' in parsed) {
    log(`Error: ${parsed.error}`);
    return { handle: { stop() {} }, failed: 1 };
  }
  const httpPort = parsed.values['http-port'] as number;
  const udpPort = parsed.values['udp-port'] as number;
  const override = parsed.values['http-override'] as string;
  const started = env.clock.now();
  let udpReady = false;
  const router = new Router()
    .any('/clientip', (_r, ctx) => {
      log('GET /clientip');
      return goText(200, `${ipv4ToString(ctx.remoteIp)}:${ctx.remotePort}`);
    })
    .any('/echo', (_r, ctx) => {
      const msg = ctx.query.get('msg') ?? '';
      const code = ctx.query.get('code') ?? '';
      log(`GET /echo?msg=${msg}&code=${code}`);
      if (code !== '' && !/^[+-]?\d+$/.test(code)) return goText(200, `argument 'code' must be an integer or empty, got "${code}"\n`);
      return goText(code === '' ? 200 : Number(code), msg);
    })
    .any('/healthz', () => {
      log('GET /healthz');
      return { status: udpReady || udpPort === -1 ? 200 : 412 };
    })
    .any('/hostname', () => {
      log('GET /hostname');
      return goText(200, env.hostname);
    })
    .any('/hostName', () => {
      log('GET /hostName');
      return goText(200, env.hostname);
    })
    .any('/redirect', (req, ctx) => {
      const location = ctx.query.get('location') ?? '';
      const code = Number(ctx.query.get('code') || 302);
      log(`${req.method} /redirect?msg=${location}&code=${ctx.query.get('code') ?? ''}`);
      return { status: code, headers: { Location: location, 'Content-Type': 'text/html; charset=utf-8' }, body: `<a href="${location}">${code === 301 ? 'Moved Permanently' : 'Found'}</a>.\n\n` };
    })
    .any('/dial', (_r, ctx) => dial(env, ctx.query, log))
    .any('/exit', (_r, ctx) => {
      const code = Number(ctx.query.get('code') || 0);
      log(`GET /exit?code=${ctx.query.get('code') ?? ''}&timeout=${ctx.query.get('timeout') ?? ''}&wait=${ctx.query.get('wait') ?? ''}`);
      env.clock.setTimer(0, () => exit(code));
      return goText(200, '');
    })
    .any('/shutdown', () => {
      log('GET /shutdown');
      env.clock.setTimer(0, () => exit(0));
      return goText(200, '');
    })
    .any('/shell', () => goText(200, JSON.stringify({ error: 'exec: "/bin/sh": not available in this simulation' })))
    .any('/upload', () => goText(200, JSON.stringify({ error: 'Unable to upload file.' })));
  router.notFound = () => {
    log('GET /');
    return goText(200, `NOW: ${goTimeNow(env, started)}`);
  };
  const handler: HttpHandler = override ? (req, ctx) => {
    const q = override.indexOf('?');
    const path = q < 0 ? override : override.slice(0, q);
    return router.handle({ ...req, method: 'GET', target: override }, { ...ctx, path, query: new URLSearchParams(q < 0 ? '' : override.slice(q + 1)) });
  } : router.handle;
  let udp: UdpSocket | undefined;
  if (udpPort !== -1) {
    udp = env.stack.udpBind(udpPort);
    const sock = udp;
    log(`Started UDP server on port  ${udpPort}`);
    udpReady = true;
    sock.onMessage = (bytes, fromIp, fromPort) => {
      const received = text(bytes).trim().toLowerCase();
      const client = `${ipv4ToString(fromIp)}:${fromPort}`;
      if (received === 'hostname') {
        log('Sending udp hostName response');
        sock.sendTo(fromIp, fromPort, utf8(env.hostname));
      } else if (received.startsWith('echo ')) {
        const resp = received.slice(5);
        log(`Echoing ${resp} to UDP client ${client}`);
        sock.sendTo(fromIp, fromPort, utf8(resp));
      } else if (received === 'clientip') {
        log(`Sending clientip back to UDP client ${client}`);
        sock.sendTo(fromIp, fromPort, utf8(client));
      } else if (received.length > 0) {
        log(`Unknown UDP command received from ${client}: ${received}`);
      }
    };
  }
  const http = new HttpServer(env.stack, httpPort, handler, env.clock);
  log(`Started HTTP server on port ${httpPort}`);
  return {
    handle: {
      stop: () => {
        http.close();
        udp?.close();
      },
    },
  };
}

/** netexec's /dial: request host:port `tries` times over http or udp from this pod. */
async function dial(env: PodEnv, q: URLSearchParams, log: (line: string) => void): Promise<HttpReply> {
  const host = q.get('host') ?? '';
  const port = q.get('port') ?? '';
  const request = q.get('request') ?? '';
  const protocol = (q.get('protocol') ?? '').toLowerCase();
  const triesParam = q.get('tries') ?? '';
  log(`GET /dial?host=${host}&protocol=${protocol}&port=${port}&request=${request}&tries=${triesParam}`);
  const tries = triesParam === '' ? 1 : Number(triesParam);
  if (!Number.isInteger(tries)) return textReply(400, `tries parameter is invalid. strconv.Atoi: parsing "${triesParam}": invalid syntax\n`);
  if (request === '') return textReply(400, 'request parameter not specified. <nil>\n');
  if (protocol !== '' && protocol !== 'http' && protocol !== 'udp') return textReply(400, `unsupported protocol. ${protocol}\n`);
  const portNum = /^\d+$/.test(port) ? Number(port) : NaN;
  const ip = await resolveAddr(env, host, new AbortController().signal);
  if (ip instanceof ResolveError || Number.isNaN(portNum)) {
    const why = ip instanceof ResolveError ? goDnsError(ip, env) : `address ${port}: invalid port`;
    return textReply(400, `host and/or port param are invalid. ${why}\n`);
  }
  const responses: string[] = [];
  const errors: string[] = [];
  let last = '';
  for (let i = 0; i < tries; i++) {
    const r = protocol === 'udp' ? await dialUdp(env, ip, portNum, request) : await dialHttp(env, ip, portNum, request);
    if ('error' in r) {
      errors.push(r.error);
      last = '';
    } else {
      responses.push(r.body);
      last = r.body;
    }
  }
  // As netexec does: responses are reported only when the last try produced one.
  const out: Record<string, string[]> = {};
  if (errors.length > 0) out.errors = errors;
  if (last.length > 0) out.responses = responses;
  return goText(200, JSON.stringify(out));
}

const DIAL_TIMEOUT_MS = 5000;

async function dialHttp(env: PodEnv, ip: number, port: number, request: string): Promise<{ body: string } | { error: string }> {
  const url = `http://${ipv4ToString(ip)}:${port}/${request}`;
  const t = clockTimeout(env.clock, DIAL_TIMEOUT_MS, 'timeout');
  let stream;
  try {
    stream = await connectTcp(env.stack, ip, port, { signal: t.signal });
    stream.write(serializeRequest({ method: 'GET', target: `/${request}`, headers: { Host: `${ipv4ToString(ip)}:${port}`, 'User-Agent': 'Go-http-client/1.1', 'Accept-Encoding': 'gzip' } }));
    const res = await readHttpResponse(stream, 'GET', { signal: t.signal });
    return { body: text(res.body) };
  } catch (e) {
    if (e instanceof Aborted) return { error: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` };
    if (e instanceof ConnectError) return { error: `Get "${url}": dial tcp ${ipv4ToString(ip)}:${port}: connect: ${goErrno(e.error.message)}` };
    if (e instanceof HttpClientError) return { error: `Get "${url}": ${e.kind === 'empty' ? 'EOF' : goErrno(e.message)}` };
    throw e;
  } finally {
    t.cancel();
    stream?.close();
  }
}

async function dialUdp(env: PodEnv, ip: number, port: number, request: string): Promise<{ body: string } | { error: string }> {
  const sock = env.stack.udpBind();
  const label = `udp ${ipv4ToString(env.ip)}:${sock.localPort}->${ipv4ToString(ip)}:${port}`;
  if (sock.connect(ip, port) < 0) {
    sock.close();
    return { error: `udp dial failed. err:dial udp ${ipv4ToString(ip)}:${port}: connect: no route to host` };
  }
  const t = clockTimeout(env.clock, DIAL_TIMEOUT_MS, 'timeout');
  try {
    const r = await abortable<Uint8Array | 'refused'>(t.signal, (resolve) => {
      sock.onMessage = (b) => resolve(b);
      sock.onError = (err) => {
        if (err.code === 'ECONNREFUSED') resolve('refused');
      };
      sock.send(utf8(request));
    });
    if (r === 'refused') return { error: `reading from udp connection failed. err:'read ${label}: read: connection refused'` };
    return { body: text(r) };
  } catch (e) {
    if (e instanceof Aborted) return { error: `reading from udp connection failed. err:'read ${label}: i/o timeout'` };
    throw e;
  } finally {
    t.cancel();
    sock.close();
  }
}

function startServeHostname(env: PodEnv, args: string[], log: (line: string) => void): Running {
  const parsed = parseFlags(args, SERVE_HOSTNAME_FLAGS);
  if ('error' in parsed) {
    log(`Error: ${parsed.error}`);
    return { handle: { stop() {} }, failed: 1 };
  }
  const v = parsed.values;
  const port = v.port as number;
  if (v.http && (v.tcp || v.udp)) {
    log("Can't server TCP/UDP mode and HTTP mode at the same time");
    return { handle: { stop() {} }, failed: 1 };
  }
  const closers: (() => void)[] = [];
  if (v.tcp) {
    const l = env.stack.tcpListen(port, (sock) => {
      log(`TCP request from ${ipv4ToString(sock.remoteIp)}:${sock.remotePort}`);
      sock.write(utf8(env.hostname));
      sock.close();
    });
    closers.push(() => l.close());
  }
  if (v.udp) {
    const u = env.stack.udpBind(port);
    u.onMessage = (_b, ip, p) => {
      log(`UDP request from ${ipv4ToString(ip)}:${p}`);
      u.sendTo(ip, p, utf8(env.hostname));
    };
    closers.push(() => u.close());
  }
  if (v.http) {
    const close = v.close as boolean;
    const s = new HttpServer(
      env.stack,
      port,
      (_req, ctx) => {
        log(`HTTP request from ${ipv4ToString(ctx.remoteIp)}:${ctx.remotePort}`);
        return { ...textReply(200, env.hostname), ...(close ? { close: true } : {}) };
      },
      env.clock,
    );
    closers.push(() => s.close());
  }
  log(`Serving on port ${port}.`);
  return { handle: { stop: () => closers.forEach((c) => c()) } };
}

/** The agnhost image as a container: the subcommand comes from command/args. */
export class AgnhostServer implements ServerApp {
  start(env: PodEnv, spec: ServerSpec, hooks: ServerHooks = {}): ServerHandle {
    const argv = [...(spec.command ?? []), ...(spec.args ?? [])];
    if (argv.length > 0 && /(^|\/)agnhost$/.test(argv[0]!)) argv.shift();
    const log = (line: string): void => hooks.log?.(goLogTime(env) + line);
    // exit() may run before start() returns the handle it stops.
    const current: { handle?: ServerHandle } = {};
    const exit = (code: number): void => {
      current.handle?.stop();
      hooks.exit?.(code);
    };
    const sub = argv[0];
    let running: Running;
    switch (sub) {
      case 'netexec':
        running = startNetexec(env, argv.slice(1), log, exit);
        break;
      case 'serve-hostname':
        running = startServeHostname(env, argv.slice(1), log);
        break;
      case 'pause':
        log('Paused');
        running = { handle: { stop() {} } };
        break;
      default:
        hooks.log?.(sub === undefined ? 'agnhost: missing subcommand' : `Error: unknown command "${sub}" for "agnhost"`);
        running = { handle: { stop() {} }, failed: 1 };
    }
    const handle = running.handle;
    current.handle = handle;
    if (running.failed !== undefined) {
      const code = running.failed;
      env.clock.setTimer(0, () => hooks.exit?.(code));
    }
    return handle;
  }
}

/** `agnhost <subcommand>` run by kubectl exec: connect returns; servers run until signalled. */
export const agnhost: AppCommand = async (env, argv, io) => {
  const sub = argv[1];
  if (sub === 'connect') return connectCommand(env, argv.slice(2), io);
  if (sub === 'netexec' || sub === 'serve-hostname' || sub === 'pause') {
    let exitCode: number | undefined;
    let exited: (() => void) | undefined;
    const onExit = (c: number): void => {
      exitCode = c;
      exited?.();
    };
    const handle = new AgnhostServer().start(env, { args: argv.slice(1), ports: [] }, { log: (l) => io.stderr(l + '\n'), exit: onExit });
    // A server runs until it exits by itself or the process is signalled.
    await abortable<void>(io.signal, (resolve) => {
      exited = resolve;
      if (exitCode !== undefined) resolve();
    }).catch(() => undefined);
    handle.stop();
    return exitCode ?? signalExitCode(io.signal);
  }
  if (sub === undefined) {
    io.stdout('Usage:\n  agnhost [command]\n\nAvailable Commands:\n  connect         Attempts a TCP, UDP or SCTP connection and returns useful errors\n  netexec         Creates HTTP(S), UDP, and (optionally) SCTP servers with various endpoints\n  pause           Pauses the execution\n  serve-hostname  Serves the hostname\n');
    return 0;
  }
  io.stderr(`Error: unknown command "${sub}" for "agnhost"\nRun 'agnhost --help' for usage.\n`);
  return 1;
};
