// kubectl port-forward: listen on localhost and carry each connection to a
// pod's port through the daemon (the connection inside the cluster starts on
// the pod's node, as the kubelet's does). Runs until interrupted.

import { createServer, type Server, type Socket } from 'node:net';
import { request } from 'node:http';
import { lookupResource, objectPath } from '../../../k8s/resources.js';
import type { KubeObject } from '../../../k8s/types.js';
import { PORTFORWARD_PATH } from '../../../cluster/exec-protocol.js';
import { resolveCluster, socketAlive } from '../../daemon-client.js';
import type { KubectlContext } from '../context.js';
import { KubectlError, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { resolvePod, type Pod } from './pods.js';

export const PORT_FORWARD_FLAGS: FlagSpec[] = [
  { name: 'address', type: 'stringArray' },
  { name: 'pod-running-timeout', type: 'duration', default: 60_000 },
];

interface PortPair {
  local: number;
  remote: number;
  text: string;
}

function parsePorts(args: string[]): PortPair[] {
  return args.map((a) => {
    const parts = a.split(':');
    const [l, r] = parts.length === 1 ? [parts[0]!, parts[0]!] : [parts[0]!, parts[1]!];
    const local = l === '' ? 0 : Number(l);
    const remote = Number(r);
    if (!Number.isInteger(local) || local < 0 || local > 65535 || !Number.isInteger(remote) || remote < 1 || remote > 65535) {
      throw usageError(`Error parsing local port '${l}': strconv.ParseUint: parsing "${l}": invalid syntax`);
    }
    return { local, remote, text: a };
  });
}

interface ServicePort {
  port: number;
  targetPort?: number | string;
}

/** A Service port → the pod's port (numbers, or the container port of that name). */
function targetPortOf(svc: KubeObject, pod: Pod, port: number): number {
  const ports = ((svc['spec'] as { ports?: ServicePort[] } | undefined)?.ports ?? []) as ServicePort[];
  const sp = ports.find((p) => p.port === port);
  if (!sp) throw new KubectlError(`error: Service ${svc.metadata.namespace}/${svc.metadata.name} does not have a service port ${port}`);
  const t = sp.targetPort ?? sp.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(t)) return Number(t);
  for (const c of ((pod.spec as { containers?: { ports?: { name?: string; containerPort: number }[] }[] } | undefined)?.containers ?? [])) {
    const named = (c.ports ?? []).find((p) => p.name === t);
    if (named) return named.containerPort;
  }
  throw new KubectlError(`error: Pod '${pod.metadata.name}' does not have a named port '${t}'`);
}

export async function runPortForward(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (f.args.length < 2) throw usageError('TYPE/NAME and list of ports are required for port-forward');
  const target = f.args[0]!;
  const pairs = parsePorts(f.args.slice(1));
  const pod = await resolvePod(ctx, target);
  if (target.startsWith('svc/') || target.startsWith('service/') || target.startsWith('services/')) {
    const conn = await ctx.conn();
    const svc = await ctx.must(conn.get<KubeObject>(objectPath(lookupResource('services')!, target.slice(target.indexOf('/') + 1), ctx.namespace)));
    for (const p of pairs) p.remote = targetPortOf(svc, pod, p.remote);
  }
  if (pod.status?.phase !== 'Running') throw new KubectlError(`error: unable to forward port because pod is not running. Current status=${pod.status?.phase ?? 'Pending'}`);
  const paths = await resolveCluster(ctx.clusterName(), ctx.io.env);
  if (!(await socketAlive(paths.socket))) throw usageError(`cluster "${paths.name}" is not running (start it with \`podpath up\`)`);
  const servers: Server[] = [];
  for (const p of pairs) {
    const onConnection = (local: Socket): void => {
      ctx.io.out(`Handling connection for ${p.local}\n`);
      const q = new URLSearchParams({ namespace: pod.metadata.namespace ?? ctx.namespace, pod: pod.metadata.name ?? '', port: String(p.remote) });
      const up = request({ socketPath: paths.socket, path: `${PORTFORWARD_PATH}?${q.toString()}`, method: 'POST', headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } });
      up.on('response', (res) => {
        res.on('data', (c: Buffer) => local.write(c));
        res.on('end', () => local.end());
        res.on('error', () => local.destroy());
      });
      up.on('error', (e) => {
        ctx.io.err(`E1126 portforward.go:413] an error occurred forwarding ${p.local} -> ${p.remote}: ${e.message}\n`);
        local.destroy();
      });
      local.on('data', (c: Buffer) => up.write(c));
      local.on('end', () => up.end());
      local.on('error', () => up.destroy());
    };
    for (const host of ['127.0.0.1', '::1']) {
      const srv = createServer(onConnection);
      const ok = await new Promise<boolean>((resolve) => {
        srv.once('error', () => resolve(false));
        srv.listen(p.local, host, () => resolve(true));
      });
      if (!ok) {
        if (host === '127.0.0.1') throw new KubectlError(`error: unable to listen on port ${p.local}: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:${p.local}: bind: address already in use]`);
        continue;
      }
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : p.local;
      if (p.local === 0) p.local = bound;
      ctx.io.out(`Forwarding from ${host === '::1' ? '[::1]' : host}:${bound} -> ${p.remote}\n`);
      servers.push(srv);
    }
  }
  await new Promise<void>((resolve) => {
    const signal = ctx.io.signal;
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  for (const s of servers) s.close();
  return 0;
}
