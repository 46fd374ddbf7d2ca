// kubectl port-forward: listen on localhost and carry each connection to a
// pod's port through the daemon (the connection inside the cluster starts on
// the pod's node, as the kubelet's does). Runs until interrupted, or until a
// connection fails: then, as kubectl 1.32 does, it prints the kubelet's error
// and "error: lost connection to pod", and exits 1. Ports are converted and
// parsed in kubectl's order and with its texts (named ports through the pod or
// the Service, then client-go's ParseUint checks).

import { request } from 'node:http';
import { createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { lookupResource, objectPath } from '../../../k8s/resources.js';
import type { KubeObject } from '../../../k8s/types.js';
import { PORTFORWARD_ERROR_TRAILER, PORTFORWARD_PATH } from '../../../cluster/exec-protocol.js';
import { resolveCluster, socketAlive } from '../../daemon-client.js';
import type { KubectlContext } from '../context.js';
import { KubectlError, klogError, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { resolvePod, type Pod } from './pods.js';

export const PORT_FORWARD_FLAGS: FlagSpec[] = [
  { name: 'address', type: 'stringArray' },
  { name: 'pod-running-timeout', type: 'duration', default: 60_000 },
];

/** Go's strconv.Atoi: an optional sign and decimal digits that fit an int64; undefined otherwise. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n > 2n ** 63n - 1n || n < -(2n ** 63n) ? undefined : Number(n);
}

/** kubectl's splitPort: `L:R` → [L, R]; anything else → [first, first]. */
function splitPort(port: string): [string, string] {
  const parts = port.split(':');
  return parts.length === 2 ? [parts[0]!, parts[1]!] : [parts[0]!, parts[0]!];
}

interface ContainerPorts {
  containers?: { ports?: { name?: string; containerPort: number }[] }[];
}

function containerPortByName(pod: Pod, name: string): number {
  for (const c of (pod.spec as ContainerPorts | undefined)?.containers ?? []) {
    const p = (c.ports ?? []).find((x) => x.name === name);
    if (p) return p.containerPort;
  }
  throw new KubectlError(`error: Pod '${pod.metadata.name ?? ''}' does not have a named port '${name}'`);
}

/** A pod's named remote ports → numbers (kubectl's convertPodNamedPortToNumber). */
function convertPodNamedPorts(ports: string[], pod: Pod): string[] {
  return ports.map((port) => {
    const [local, remote] = splitPort(port);
    const container = atoi(remote) === undefined ? String(containerPortByName(pod, remote)) : remote;
    return local !== remote ? `${local}:${container}` : container;
  });
}

interface ServiceSpec {
  clusterIP?: string;
  ports?: { name?: string; port: number; targetPort?: number | string }[];
}

/** Service ports (numbers or names) → the pod's ports (kubectl's translateServicePortToTargetPort). */
function translateServicePorts(ports: string[], svc: KubeObject, pod: Pod): string[] {
  const spec = (svc['spec'] ?? {}) as ServiceSpec;
  const name = svc.metadata.name ?? '';
  return ports.map((port) => {
    const [given, remote] = splitPort(port);
    let local = given;
    let portnum = atoi(remote);
    if (portnum === undefined) {
      const named = (spec.ports ?? []).find((p) => p.name === remote);
      if (!named) throw new KubectlError(`error: Service '${name}' does not have a named port '${remote}'`);
      portnum = named.port;
      if (local === remote) local = String(portnum);
    }
    // int32(portnum), as kubectl converts it.
    const servicePort = portnum | 0;
    const sp = (spec.ports ?? []).find((p) => p.port === servicePort);
    if (!sp) throw new KubectlError(`error: Service ${name} does not have a service port ${servicePort}`);
    let container: number;
    if (spec.clusterIP === 'None') container = servicePort;
    else if (typeof sp.targetPort === 'string') container = containerPortByName(pod, sp.targetPort);
    else container = sp.targetPort ? sp.targetPort : sp.port;
    return local !== String(container) ? `${local}:${container}` : String(container);
  });
}

interface PortPair {
  local: number;
  remote: number;
}

/** Go's strconv.ParseUint(s, 10, 16), as client-go's parsePorts words its failures. */
function parseUint16(s: string, which: 'local' | 'remote'): number {
  const why = !/^\d+$/.test(s) ? 'invalid syntax' : Number(s) > 65535 ? 'value out of range' : '';
  if (why) throw usageError(`error parsing ${which} port '${s}': strconv.ParseUint: parsing ${JSON.stringify(s)}: ${why}`);
  return Number(s);
}

/** client-go's parsePorts: `[LOCAL:]REMOTE`, an empty LOCAL being any free port. */
function parsePorts(ports: string[]): PortPair[] {
  return ports.map((text) => {
    const parts = text.split(':');
    if (parts.length > 2) throw usageError(`invalid port format '${text}'`);
    const localText = parts.length === 1 ? parts[0]! : parts[0] || '0';
    const remoteText = parts.length === 1 ? parts[0]! : parts[1]!;
    const local = parseUint16(localText, 'local');
    const remote = parseUint16(remoteText, 'remote');
    if (remote === 0) throw usageError('remote port must be > 0');
    return { local, remote };
  });
}

interface ListenAddress {
  address: string;
  family: 'tcp4' | 'tcp6';
  /** localhost's two addresses may fail one at a time; an address given by IP may not. */
  mayFail: boolean;
}

/** client-go's parseAddresses: `localhost` is 127.0.0.1 and ::1, other names are refused; sorted, without repeats. */
function parseAddresses(given: string[]): ListenAddress[] {
  const parsed = new Map<string, ListenAddress>();
  for (const address of given) {
    if (address === 'localhost') {
      if (!parsed.has('127.0.0.1')) parsed.set('127.0.0.1', { address: '127.0.0.1', family: 'tcp4', mayFail: true });
      if (!parsed.has('::1')) parsed.set('::1', { address: '::1', family: 'tcp6', mayFail: true });
    } else if (isIPv4(address)) parsed.set(address, { address, family: 'tcp4', mayFail: false });
    else if (isIPv6(address)) parsed.set(address, { address, family: 'tcp6', mayFail: false });
    else throw usageError(`${address} is not a valid IP`);
  }
  return [...parsed.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Go's net.JoinHostPort. */
function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Go's text for a failed bind. */
function bindError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EACCES':
      return 'permission denied';
    case 'EADDRNOTAVAIL':
      return 'cannot assign requested address';
    default:
      return err.message;
  }
}

function listen(srv: Server, port: number, address: ListenAddress): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    srv.listen({ port, host: address.address, ...(address.family === 'tcp6' ? { ipv6Only: true } : {}) }, () => resolve(undefined));
  });
}

export async function runPortForward(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (f.args.length < 2) throw usageError("TYPE/NAME and list of ports are required for port-forward\nSee 'kubectl port-forward -h' for help and examples");
  const target = f.args[0]!;
  const pod = await resolvePod(ctx, target);
  let ports: string[];
  if (target.startsWith('svc/') || target.startsWith('service/') || target.startsWith('services/')) {
    const conn = await ctx.conn();
    const svc = await ctx.must(conn.get<KubeObject>(objectPath(lookupResource('services')!, target.slice(target.indexOf('/') + 1), ctx.namespace)));
    ports = translateServicePorts(f.args.slice(1), svc, pod);
  } else {
    ports = convertPodNamedPorts(f.args.slice(1), pod);
  }
  if (pod.status?.phase !== 'Running') throw new KubectlError(`error: unable to forward port because pod is not running. Current status=${pod.status?.phase ?? 'Pending'}`);
  const pairs = parsePorts(ports);
  const given = f.list('address').flatMap((a) => a.split(','));
  const addresses = parseAddresses(given.length ? given : ['localhost']);
  const paths = await resolveCluster(ctx.clusterName(), ctx.io.env);
  if (!(await socketAlive(paths.socket))) throw usageError(`cluster "${paths.name}" is not running (start it with \`podpath up\`)`);

  const servers: Server[] = [];
  const locals = new Set<Socket>();
  // Resolves with the failure that ends the command, or undefined when interrupted.
  let finish!: (failure?: KubectlError) => void;
  const finished = new Promise<KubectlError | undefined>((resolve) => (finish = resolve));
  let over = false;
  const lost = (): void => {
    if (over) return;
    over = true;
    finish(new KubectlError('error: lost connection to pod'));
  };

  const forward = (p: PortPair, local: Socket): void => {
    if (over) return void local.destroy();
    locals.add(local);
    local.on('close', () => locals.delete(local));
    ctx.io.out(`Handling connection for ${p.local}\n`);
    const q = new URLSearchParams({ namespace: pod.metadata.namespace ?? ctx.namespace, pod: pod.metadata.name ?? '', port: String(p.remote) });
    const up = request({ socketPath: paths.socket, path: `${PORTFORWARD_PATH}?${q.toString()}`, method: 'POST', headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } });
    // The kubelet's text for a failed connection: kubectl logs it, drops the local connection and gives up on the pod.
    const failed = (text: string): void => {
      local.destroy();
      if (over) return;
      ctx.io.err(klogError(`an error occurred forwarding ${p.local} -> ${p.remote}: ${text}`, 'portforward.go:424', 'Unhandled Error'));
      lost();
    };
    up.on('response', (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => (body += s));
        res.on('end', () => {
          let text = body.trim();
          try {
            text = String((JSON.parse(body) as { error?: unknown }).error ?? text);
          } catch {
            // not JSON: the text as it came
          }
          failed(text);
        });
        return;
      }
      res.on('data', (c: Buffer) => local.write(c));
      res.on('end', () => {
        const failure = res.trailers[PORTFORWARD_ERROR_TRAILER];
        if (failure !== undefined) failed(decodeURIComponent(failure));
        else local.end();
      });
      // The daemon went away mid-stream: the connection to the pod is gone.
      res.on('error', () => {
        if (localGone) return;
        local.destroy();
        lost();
      });
    });
    up.on('error', () => {
      if (localGone) return;
      local.destroy();
      lost();
    });
    local.on('data', (c: Buffer) => up.write(c));
    local.on('end', () => up.end());
    local.on('error', () => up.destroy());
    // Nothing more can go either way once the local connection is gone.
    let localGone = false;
    local.on('close', () => {
      localGone = true;
      up.destroy();
    });
  };

  // Connections wait until every listener is up and announced: kubectl sets
  // them all up before its first "Handling connection" line, while here each
  // listen() yields to the event loop, where an early client could be served
  // between two "Forwarding from" lines.
  let allListening!: () => void;
  const listening = new Promise<void>((resolve) => (allListening = resolve));
  const failedPorts: PortPair[] = [];
  for (const p of pairs) {
    const errors: string[] = [];
    const opened: Server[] = [];
    let strict = false;
    for (const address of addresses) {
      const srv = createServer((local) => void listening.then(() => forward(p, local)));
      const err = await listen(srv, p.local, address);
      if (err) {
        errors.push(`unable to create listener: Error listen ${address.family} ${hostPort(address.address, p.local)}: bind: ${bindError(err)}`);
        if (!address.mayFail) strict = true;
        continue;
      }
      const addr = srv.address();
      if (p.local === 0 && typeof addr === 'object' && addr) p.local = addr.port;
      ctx.io.out(`Forwarding from ${hostPort(address.address, p.local)} -> ${p.remote}\n`);
      opened.push(srv);
    }
    if (errors.length === addresses.length || (errors.length > 0 && strict)) {
      for (const s of opened) s.close();
      ctx.io.err(`Unable to listen on port ${p.local}: Listeners failed to create with the following errors: [${errors.join(' ')}]\n`);
      failedPorts.push(p);
      continue;
    }
    servers.push(...opened);
  }
  if (failedPorts.length === pairs.length) throw usageError(`unable to listen on any of the requested ports: [${failedPorts.map((p) => `{${p.local} ${p.remote}}`).join(' ')}]`);
  allListening();

  const stop = (): void => {
    if (over) return;
    over = true;
    finish(undefined);
  };
  // Ctrl-C stops kubectl's port-forward cleanly (exit 0); SIGTERM ends it as any signal does.
  ctx.io.interruptIsStop = true;
  const signal = ctx.io.signal;
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  // Without a signal to watch (an embedding that gave none), the process's own signals stop it.
  if (!signal) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  const failure = await finished;
  signal?.removeEventListener('abort', stop);
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
  for (const s of servers) s.close();
  for (const l of locals) l.destroy();
  if (failure) throw failure;
  return 0;
}
