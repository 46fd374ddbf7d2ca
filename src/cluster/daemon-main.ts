// The cluster daemon process (`podpath up` starts it detached): builds or
// restores the cluster from $PODPATH_HOME/<name>, serves the private socket,
// drives the clock, snapshots conntrack, and stops cleanly on request or
// SIGTERM. It prints one line on stdout, `ready {json}`, when it can serve.

import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { VirtualClock } from '../util/clock.js';
import { ClusterRuntime } from './runtime.js';
import { parseClusterConfigYaml } from './config.js';
import { clusterPaths, ensurePrivateDir } from './paths.js';
import { ClockDriver, type ClockPacing } from './clock-driver.js';
import { DaemonServer } from './daemon-server.js';
import { formatCtList } from '../datapath/dump.js';
import { ensureCredentials, writeKubeconfig } from './kubeconfig.js';
import { loadConntrack, peekConntrackTimes, resumeClockMs, saveConntrack } from './conntrack-snapshot.js';
import { handleTraceRequest } from '../trace/api.js';
import { startHubbleApi } from '../hubble/grpc/endpoint.js';

function fail(message: string): never {
  process.stdout.write(`error ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  // Everything the daemon writes (database, snapshots, socket) is the owner's alone.
  process.umask(0o077);
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      home: { type: 'string' },
      workers: { type: 'string' },
      demo: { type: 'boolean', default: false },
      config: { type: 'string' },
      clock: { type: 'string', default: 'fast' },
    },
  });
  const name = values.name ?? fail('--name is required');
  const paths = clusterPaths(name, values.home);
  ensurePrivateDir(paths.dir);

  // The config: the file given now, else the one this cluster was created with.
  let configInput: Record<string, unknown> = existsSync(paths.config) ? (JSON.parse(readFileSync(paths.config, 'utf8')) as Record<string, unknown>) : {};
  if (values.config) {
    const parsed = parseClusterConfigYaml(readFileSync(values.config, 'utf8'));
    if (!parsed.ok) fail(`invalid config ${values.config}:\n${parsed.message}`);
    configInput = parsed.config as unknown as Record<string, unknown>;
  }
  configInput = { ...configInput, name };
  if (values.workers !== undefined) configInput['workers'] = Number(values.workers);

  // Virtual time resumes where the last snapshot left it, plus the wall time since, so CT lifetimes stay meaningful.
  const resumeAt = resumeClockMs(peekConntrackTimes(paths.conntrack), Date.now());
  const clock = new VirtualClock(resumeAt, Date.now() - resumeAt);
  const runtime = await ClusterRuntime.create({ config: configInput, clock, dbPath: paths.db });
  writeFileSync(paths.config, JSON.stringify(runtime.config, null, 2), { mode: 0o600 });
  if (values.demo && !runtime.restored) runtime.deployDemo();

  const nodes = (): { name: string; dp: ClusterRuntime['nodes'][number]['dp'] }[] => runtime.nodes.map((n) => ({ name: n.name, dp: n.dp }));
  try {
    loadConntrack(paths.conntrack, nodes());
  } catch (err) {
    process.stderr.write(`ignoring conntrack snapshot: ${(err as Error).message}\n`);
  }
  const snapshot = (): void => saveConntrack(paths.conntrack, nodes(), clock.now());

  const driver = new ClockDriver(clock, values.clock as ClockPacing);
  // kubectl exec through the API waits on the cluster as the daemon's own exec does, and snapshots after.
  runtime.apiServer.podExec = async (req, io) => {
    try {
      return await driver.exec(req.command, runtime.podExec(req, io));
    } finally {
      snapshot();
    }
  };
  const server = new DaemonServer(name, {
    api: runtime.apiServer,
    exec: (target, argv, io) => runtime.exec(target, argv, io),
    status: () => {
      const s = runtime.summary();
      return { nodes: s.nodes.map((n) => ({ name: n.name, ip: n.ip, podCIDR: n.podCIDR })), pods: s.pods };
    },
    afterExec: snapshot,
    portForward: (namespace, pod) => runtime.podPortForwarder(namespace, pod),
    conntrack: (node) => {
      const n = runtime.node(node);
      return n ? formatCtList(n.dp.ct4, n.dp.ctAny4) : undefined;
    },
    trace: (kind, body) => handleTraceRequest(runtime, kind, body),
    hubble: {
      backend: (node) => runtime.hubble.backend(node),
      metricsText: () => runtime.hubble.metrics.text(),
      metricsContentType: runtime.hubble.metrics.contentType,
      now: () => clock.wallNow(),
    },
  }, driver);
  await server.listen(paths.socket);
  // Real kubectl: HTTPS on loopback with a bearer token, described by a 0600 kubeconfig.
  const creds = ensureCredentials(paths);
  const apiPort = await runtime.apiServer.listenTcp(0, creds.token, { tls: { key: creds.key, cert: creds.cert } });
  writeKubeconfig(paths, apiPort, creds);
  // Hubble's Observer API (the relay): a 0600 unix socket here, and 127.0.0.1 with mutual TLS; hubble.json says where.
  const hubbleApi = await startHubbleApi(paths.dir, { backend: runtime.hubble.relay, observers: runtime.hubble, clusterName: runtime.config.cilium.clusterName, now: () => clock.wallNow() });
  writeFileSync(paths.pid, String(process.pid), { mode: 0o600 });
  driver.start();
  // Conntrack also survives a kill -9: snapshot every few seconds of wall time.
  const periodic = setInterval(snapshot, 2000);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(periodic);
    driver.stop();
    snapshot();
    await hubbleApi.close();
    await server.close();
    await runtime.close();
    for (const f of [paths.pid, paths.socket]) if (existsSync(f)) unlinkSync(f);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  void server.shutdownRequested.then(stop);

  const s = runtime.summary();
  const frontend = runtime.podsWithLabel('demo', 'app', 'frontend')[0]?.metadata.name;
  process.stdout.write(`ready ${JSON.stringify({ nodes: s.nodes.length, pods: s.pods, restored: runtime.restored, socket: paths.socket, ...(frontend ? { frontend } : {}) })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  fail((err as Error).message);
});
