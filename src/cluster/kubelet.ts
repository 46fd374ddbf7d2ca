// The kubelet of one node: runs the pods bound to it. For a pod on the pod
// network it asks the node's Cilium agent for an endpoint (the CNI ADD),
// builds the pod's network namespace (a NetStack behind the lxc veth, with
// Cilium's socket-LB hooks when bpf-lb-sock is on) and starts each
// container's program, chosen by image. Host-network pods (cilium, the
// control-plane static pods) share the node's own stack and run no program
// here. The pod's status (Running, Ready, IPs, container states) is written
// once the containers are up. A deleted pod is stopped and its endpoint
// removed (the CNI DEL). `exec` runs a client tool inside a pod's namespace.

import { createHash } from 'node:crypto';
import type { ObjectWriter } from '../k8s/apiserver.js';
import type { StoreEvent } from '../k8s/store.js';
import type { KubeObject } from '../k8s/types.js';
import type { Pod } from '../k8s/validation/core.js';
import type { Container } from '../k8s/validation/pod.js';
import { jsonEqual } from '../k8s/json.js';
import { ipv4ToString } from '../packet/ip.js';
import { NetStack, type CookieSource, type SockHooks } from '../net/stack/index.js';
import type { NodeKernel } from '../net/node-kernel.js';
import type { Agent, EndpointAttachment } from '../agent/agent.js';
import { kubernetesResolv, type AppCommand, type PodEnv, type ProcessIO, type ResolvConf, type ServerApp, type ServerHandle } from '../apps/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import type { ObjectCache } from './controllers/cache.js';
import { R, WorkQueue, isTerminating, keyOf, mergeConditions, now3339, podNodeName, podPhase, splitKey, thaw, type Condition, type Reconciler } from './controllers/common.js';
import { execId } from '../k8s/exec-websocket.js';

/** What runs in containers and what `exec` can start. */
export interface Workloads {
  /** The program of a container image (command/args may select it, as for agnhost). */
  serverFor(image: string, command: string[] | undefined): ServerApp;
  commandByName(name: string): AppCommand | undefined;
}

/** The node the kubelet runs on: its agent, kernel and host network namespace. */
export interface KubeletNode {
  name: string;
  ip: number;
  agent: Agent;
  kernel: NodeKernel;
  /** The node's own network namespace. */
  host: NetStack;
  /** Socket and netns cookies unique on this node. */
  cookies: CookieSource;
}

export interface KubeletOptions {
  node: KubeletNode;
  api: ObjectWriter;
  cache: ObjectCache;
  clock: Clock;
  rng: Rng;
  workloads: Workloads;
  socketLB: boolean;
  /** kube-dns's ClusterIP (resolv.conf nameserver for ClusterFirst pods). */
  clusterDnsIp: number;
  clusterDomain: string;
  report(component: string, message: string): void;
  /** Programs of this node's agent (cilium-dbg, hubble) that its host-network agent pods can exec. */
  agentCommands?: Record<string, AppCommand>;
}

const MAX_LOG_LINES = 1000;
const CRASH_BACKOFF_MS = 10_000;
const CRASH_BACKOFF_MAX_MS = 300_000;

interface ContainerState {
  name: string;
  image: string;
  handle: ServerHandle | null;
  startedAt: string;
  restartCount: number;
  lastExit?: { exitCode: number; reason: string; startedAt: string; finishedAt: string };
  /** Waiting to be restarted after a crash. */
  backoff: TimerHandle | null;
  logs: string[];
}

/** A pod the kubelet runs. */
export interface RunningPod {
  key: string;
  uid: string;
  namespace: string;
  name: string;
  hostNetwork: boolean;
  env: PodEnv;
  attachment?: EndpointAttachment;
  containers: ContainerState[];
  startTime: string;
  /** containerd IDs by `name\0restartCount` (a hash each; every status write names them). */
  containerIds: Map<string, string>;
}

/** sha256 hex of the parts: stable container and image IDs. */
function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/**
 * What the kubelet (through containerd's CRI streaming server) writes on a
 * port-forward error stream when the connection to the pod's port fails.
 * containerd names the pod by its sandbox ID and dials localhost inside the
 * pod's network namespace; both are derived from the pod's UID here.
 */
export function portForwardFailure(podUid: string, port: number, err: { message: string }, connected: boolean): string {
  const sandbox = digest(podUid, 'sandbox');
  const u = digest(podUid, 'netns');
  const netns = `/var/run/netns/cni-${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20, 32)}`;
  // Go prints errno text in lower case ("connect: connection refused").
  const reason = err.message.toLowerCase();
  const why = connected
    ? `read tcp4 127.0.0.1:${port}: read: ${reason}`
    : `failed to connect to localhost:${port} inside namespace "${sandbox}", IPv4: dial tcp4 127.0.0.1:${port}: connect: ${reason} IPv6 dial tcp6 [::1]:${port}: connect: ${reason} `;
  return `error forwarding port ${port} to pod ${sandbox}, uid : failed to execute portforward in network namespace "${netns}": ${why}`;
}

/** Image IDs by image (a hash each: worth keeping, 10,000 pods share a handful of images). */
const imageIds = new Map<string, string>();

function imageId(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image;
  let id = imageIds.get(image);
  if (id === undefined) {
    const repo = image.includes(':') && image.lastIndexOf(':') > image.lastIndexOf('/') ? image.slice(0, image.lastIndexOf(':')) : image;
    const full = repo.includes('/') ? (repo.split('/')[0]!.includes('.') ? repo : `docker.io/${repo}`) : `docker.io/library/${repo}`;
    id = `${full}@sha256:${digest('image', image)}`;
    if (imageIds.size < 4096) imageIds.set(image, id);
  }
  return id;
}

export class Kubelet implements Reconciler {
  readonly name: string;
  readonly watches = [R.pods];
  readonly podsOfNode: string;
  private readonly queue = new WorkQueue();
  private readonly pods = new Map<string, RunningPod>();
  readonly nodeEnv: PodEnv;

  constructor(private readonly opts: KubeletOptions) {
    this.name = `kubelet/${opts.node.name}`;
    this.podsOfNode = opts.node.name;
    this.nodeEnv = {
      podName: opts.node.name,
      namespace: '',
      hostname: opts.node.name,
      ip: opts.node.ip,
      stack: opts.node.host,
      clock: opts.clock,
      rng: opts.rng.fork(),
      resolv: this.nodeResolv(),
    };
  }

  /**
   * A kind node's /etc/resolv.conf points at Docker's DNS, which cannot
   * resolve cluster names; here it points at kube-dns so `exec node/...`
   * can use service names too (search path empty, as on the node).
   */
  private nodeResolv(): ResolvConf {
    return { nameservers: [this.opts.clusterDnsIp], search: [], ndots: 1 };
  }

  observe(e: StoreEvent): void {
    if (e.resource !== R.pods) return;
    const me = this.opts.node.name;
    if (podNodeName(e.object) === me || (e.previous && podNodeName(e.previous) === me)) this.queue.add(keyOf(e.object));
  }

  hasWork(): boolean {
    return this.queue.size > 0;
  }

  run(): void {
    for (const key of this.queue.drain()) this.sync(key);
  }

  /** Queue every pod bound here (after a restart: start them all again). */
  resyncAll(): void {
    for (const p of this.opts.cache.podsOnNode(this.opts.node.name)) this.queue.add(keyOf(p));
    for (const key of this.pods.keys()) this.queue.add(key);
  }

  private sync(key: string): void {
    const { namespace, name } = splitKey(key);
    const pod = this.opts.cache.get(R.pods, namespace, name);
    let running = this.pods.get(key);
    const phase = pod ? podPhase(pod) : '';
    const mine = pod && podNodeName(pod) === this.opts.node.name && !isTerminating(pod) && phase !== 'Succeeded' && phase !== 'Failed';
    if (running && (!mine || running.uid !== pod?.metadata.uid)) {
      this.stop(running);
      running = undefined;
    }
    if (!mine || !pod) return;
    if (!running) {
      running = this.start(pod);
      if (!running) return;
    }
    this.writeStatus(pod, running);
  }

  private start(pod: KubeObject): RunningPod | undefined {
    const spec = (pod as unknown as Pod).spec ?? {};
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    const key = `${namespace}/${name}`;
    const node = this.opts.node;
    const hostNetwork = spec.hostNetwork === true;
    let stack: NetStack;
    let attachment: EndpointAttachment | undefined;
    if (hostNetwork) {
      stack = node.host;
    } else {
      // The veth's pod end: frames go to the stack created once the endpoint (and its address) exists.
      const peer: { stack?: NetStack } = {};
      const result = node.agent.addEndpoint(pod, (buf, off, len) => peer.stack?.receive(off === 0 && len === buf.length ? buf : buf.slice(off, off + len)));
      if ('error' in result) {
        this.opts.report(this.name, `${key}: failed to set up sandbox: plugin type="cilium-cni" failed (add): ${result.error}`);
        this.writeWaiting(pod, 'ContainerCreating', result.error);
        return undefined;
      }
      attachment = result;
      const kernel = node.kernel;
      const hooks: SockHooks | undefined = this.opts.socketLB
        ? {
            connect4: (c) => kernel.sock.cil_sock4_connect(c),
            sendmsg4: (c) => kernel.sock.cil_sock4_sendmsg(c),
            recvmsg4: (c) => kernel.sock.cil_sock4_recvmsg(c),
            getpeername4: (c) => kernel.sock.cil_sock4_getpeername(c),
          }
        : undefined;
      stack = new NetStack({
        name: key,
        ip: result.ip,
        mac: result.mac,
        gatewayIp: result.gatewayIp,
        clock: this.opts.clock,
        rng: this.opts.rng.fork(),
        transmit: (f) => kernel.podTransmit(result.ifindex, f),
        ...(hooks ? { sockHooks: hooks } : {}),
        cookies: node.cookies,
      });
      peer.stack = stack;
    }
    const env: PodEnv = {
      podName: name,
      namespace,
      hostname: spec.hostname ?? name,
      ip: hostNetwork ? node.ip : attachment!.ip,
      stack,
      clock: this.opts.clock,
      rng: this.opts.rng.fork(),
      resolv: this.resolvFor(spec, namespace, hostNetwork),
    };
    const status = (pod['status'] ?? {}) as { startTime?: string; containerStatuses?: { name?: string; state?: { running?: { startedAt?: string } }; restartCount?: number }[] };
    const now = now3339(this.opts.clock);
    const running: RunningPod = {
      key,
      uid: pod.metadata.uid ?? '',
      namespace,
      name,
      hostNetwork,
      env,
      ...(attachment ? { attachment } : {}),
      containers: [],
      startTime: status.startTime ?? now,
      containerIds: new Map(),
    };
    for (const c of spec.containers ?? []) {
      // A restarted cluster keeps what the status already says (the containers "kept running").
      const before = status.containerStatuses?.find((s) => s.name === c.name);
      const state: ContainerState = {
        name: c.name ?? '',
        image: c.image ?? '',
        handle: null,
        startedAt: before?.state?.running?.startedAt ?? now,
        restartCount: before?.restartCount ?? 0,
        backoff: null,
        logs: [],
      };
      running.containers.push(state);
      if (!hostNetwork) this.startContainer(running, state, c);
    }
    this.pods.set(key, running);
    return running;
  }

  private resolvFor(spec: NonNullable<Pod['spec']>, namespace: string, hostNetwork: boolean): ResolvConf {
    const policy = spec.dnsPolicy ?? 'ClusterFirst';
    let resolv: ResolvConf;
    if ((policy === 'ClusterFirst' && !hostNetwork) || policy === 'ClusterFirstWithHostNet') {
      resolv = kubernetesResolv(namespace, { nameserver: this.opts.clusterDnsIp, clusterDomain: this.opts.clusterDomain });
    } else if (policy === 'None') {
      resolv = { nameservers: [], search: [], ndots: 1 };
    } else {
      resolv = this.nodeResolv();
    }
    const cfg = spec.dnsConfig;
    if (cfg) {
      const ips = (cfg.nameservers ?? []).map((s) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0);
      resolv = { ...resolv, nameservers: [...resolv.nameservers, ...ips].slice(0, 3), search: [...resolv.search, ...(cfg.searches ?? [])] };
      for (const o of cfg.options ?? []) {
        if (o.name === 'ndots' && o.value) resolv.ndots = Number(o.value);
        if (o.name === 'timeout' && o.value) resolv.timeoutMs = Number(o.value) * 1000;
        if (o.name === 'attempts' && o.value) resolv.attempts = Number(o.value);
      }
    }
    return resolv;
  }

  private startContainer(pod: RunningPod, state: ContainerState, c: Container): void {
    const command = [...(c.command ?? []), ...(c.args ?? [])];
    const app = this.opts.workloads.serverFor(c.image ?? '', command.length ? command : undefined);
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) if (e.name && e.value !== undefined) env[e.name] = e.value;
    const ports = (c.ports ?? []).filter((p) => p.containerPort).map((p) => ({ containerPort: p.containerPort!, ...(p.protocol ? { protocol: p.protocol } : {}), ...(p.name ? { name: p.name } : {}) }));
    const log = (line: string): void => {
      state.logs.push(line);
      if (state.logs.length > MAX_LOG_LINES) state.logs.shift();
    };
    try {
      state.handle = app.start(
        pod.env,
        { ...(c.args ? { args: c.args } : {}), ...(c.command ? { command: c.command } : {}), ports, env },
        { log, exit: (code) => this.containerExited(pod, state, c, code) },
      );
    } catch (err) {
      log(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
      state.handle = null;
    }
  }

  /** A container's main process ended: record it and restart it after CrashLoopBackOff's delay. */
  private containerExited(pod: RunningPod, state: ContainerState, c: Container, code: number): void {
    if (this.pods.get(pod.key) !== pod) return;
    state.handle?.stop();
    state.handle = null;
    const now = now3339(this.opts.clock);
    state.lastExit = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: state.startedAt, finishedAt: now };
    state.restartCount++;
    const delay = Math.min(CRASH_BACKOFF_MS * 2 ** (state.restartCount - 1), CRASH_BACKOFF_MAX_MS);
    state.backoff = this.opts.clock.setTimer(delay, () => {
      state.backoff = null;
      if (this.pods.get(pod.key) !== pod) return;
      state.startedAt = now3339(this.opts.clock);
      this.startContainer(pod, state, c);
      this.requeue(pod.key);
    });
    this.requeue(pod.key);
  }

  /** Status changes that happen outside a settle (a crash, a restart) go through the apiserver like any write. */
  private requeue(key: string): void {
    const { namespace, name } = splitKey(key);
    const pod = this.opts.cache.get(R.pods, namespace, name);
    const running = this.pods.get(key);
    if (pod && running) this.writeStatus(pod, running);
  }

  private stop(running: RunningPod): void {
    for (const c of running.containers) {
      if (c.backoff) this.opts.clock.clearTimer(c.backoff);
      c.backoff = null;
      try {
        c.handle?.stop();
      } catch (err) {
        this.opts.report(this.name, `${running.key}: stopping ${c.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
      c.handle = null;
    }
    if (!running.hostNetwork) {
      running.env.stack.shutdown();
      this.opts.node.agent.removeEndpoint(running.key);
    }
    this.pods.delete(running.key);
  }

  /** Stop every pod (daemon shutdown); their objects stay as they are. */
  shutdown(): void {
    for (const p of [...this.pods.values()]) {
      for (const c of p.containers) {
        if (c.backoff) this.opts.clock.clearTimer(c.backoff);
        c.handle?.stop();
      }
      if (!p.hostNetwork) p.env.stack.shutdown();
    }
    this.pods.clear();
  }

  // ---- status ---------------------------------------------------------------------

  private containerId(pod: RunningPod, name: string, restart: number): string {
    const key = `${name}\0${restart}`;
    let id = pod.containerIds.get(key);
    if (id === undefined) pod.containerIds.set(key, (id = `containerd://${digest(pod.uid, name, String(restart))}`));
    return id;
  }

  private writeStatus(pod: KubeObject, running: RunningPod): void {
    const spec = (pod as unknown as Pod).spec ?? {};
    const old = (pod['status'] ?? {}) as Record<string, unknown>;
    const podIp = ipv4ToString(running.env.ip);
    const hostIp = ipv4ToString(this.opts.node.ip);
    const allReady = running.containers.every((c) => !c.backoff);
    const containerStatuses = running.containers.map((c) => {
      const waiting = c.backoff !== null;
      const cs: Record<string, unknown> = {
        containerID: this.containerId(running, c.name, c.restartCount),
        image: c.image,
        imageID: imageId(c.image),
        name: c.name,
        ready: !waiting,
        restartCount: c.restartCount,
        started: !waiting,
        state: waiting
          ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name} in pod ${running.name}_${running.namespace}(${running.uid})` } }
          : { running: { startedAt: c.startedAt } },
      };
      if (c.lastExit) {
        cs['lastState'] = {
          terminated: { containerID: this.containerId(running, c.name, c.restartCount - 1), exitCode: c.lastExit.exitCode, finishedAt: c.lastExit.finishedAt, reason: c.lastExit.reason, startedAt: c.lastExit.startedAt },
        };
      }
      return cs;
    });
    const initContainerStatuses = (spec.initContainers ?? []).map((c) => ({
      containerID: this.containerId(running, c.name ?? '', 0),
      image: c.image ?? '',
      imageID: imageId(c.image ?? ''),
      name: c.name ?? '',
      ready: true,
      restartCount: 0,
      started: false,
      state: { terminated: { containerID: this.containerId(running, c.name ?? '', 0), exitCode: 0, finishedAt: running.startTime, reason: 'Completed', startedAt: running.startTime } },
    }));
    const now = now3339(this.opts.clock);
    const ready = allReady ? 'True' : 'False';
    const conditions: Condition[] = mergeConditions(old['conditions'] as Condition[] | undefined, [
      { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: ready, lastTransitionTime: now, ...(allReady ? {} : { reason: 'ContainersNotReady', message: 'containers with unready status: [' + running.containers.filter((c) => c.backoff).map((c) => c.name).join(' ') + ']' }) },
      { type: 'ContainersReady', status: ready, lastTransitionTime: now, ...(allReady ? {} : { reason: 'ContainersNotReady' }) },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    ]);
    const status: Record<string, unknown> = {
      conditions,
      containerStatuses,
      hostIP: hostIp,
      hostIPs: [{ ip: hostIp }],
      ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
      phase: 'Running',
      podIP: podIp,
      podIPs: [{ ip: podIp }],
      ...(old['qosClass'] ? { qosClass: old['qosClass'] } : {}),
      startTime: running.startTime,
    };
    if (jsonEqual(old, status)) return;
    const r = this.opts.api.update(R.pods, running.namespace, running.name, { ...pod, status }, { subresource: 'status' });
    if (!r.ok && r.status.code !== 404 && r.status.code !== 409) this.opts.report(this.name, `status of ${running.key}: ${r.status.message}`);
  }

  private writeWaiting(pod: KubeObject, reason: string, message: string): void {
    const old = (pod['status'] ?? {}) as Record<string, unknown>;
    const spec = (pod as unknown as Pod).spec ?? {};
    const status: Record<string, unknown> = {
      ...thaw(old),
      phase: 'Pending',
      hostIP: ipv4ToString(this.opts.node.ip),
      hostIPs: [{ ip: ipv4ToString(this.opts.node.ip) }],
      containerStatuses: (spec.containers ?? []).map((c) => ({
        image: c.image ?? '',
        imageID: '',
        name: c.name ?? '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting: { reason, message } },
      })),
    };
    if (jsonEqual(old, status)) return;
    this.opts.api.update(R.pods, pod.metadata.namespace, pod.metadata.name ?? '', { ...pod, status }, { subresource: 'status' });
  }

  // ---- exec and inspection -------------------------------------------------------------

  running(namespace: string, name: string): RunningPod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  runningPods(): RunningPod[] {
    return [...this.pods.values()];
  }

  /** Log lines of a container (kubectl logs). */
  logs(namespace: string, name: string, container?: string): string[] | undefined {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) return undefined;
    const c = container ? p.containers.find((x) => x.name === container) : p.containers[0];
    return c ? [...c.logs] : undefined;
  }

  /** Run a client tool in a pod's network namespace; resolves to its exit code. */
  async exec(namespace: string, name: string, argv: string[], io: ProcessIO): Promise<number> {
    const r = await this.startExec(namespace, name, argv, io);
    if ('exitCode' in r) return r.exitCode;
    if (r.failure === 'not-running') {
      io.stderr(`error: unable to upgrade connection: container not found ("${name}")\n`);
      return 1;
    }
    // As the real kubectl prints the apiserver's InternalError for it, and exits 1.
    io.stderr(`error: Internal error occurred: ${containerExecFailure(r.program)}\n`);
    return 1;
  }

  /** Run a client tool in a pod; what it came to: an exit code, or why it never started. */
  startExec(namespace: string, name: string, argv: string[], io: ProcessIO): Promise<ExecResult> {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) return Promise.resolve({ failure: 'not-running' });
    const agentCmd = p.hostNetwork ? this.opts.agentCommands?.[basename(argv[0] ?? '')] : undefined;
    if (agentCmd) return agentCmd(p.env, argv, io).then((exitCode) => ({ exitCode }));
    return startCommand(this.opts.workloads, p.env, argv, io);
  }

  /** Run a client tool in the node's own namespace (`podpath exec node/NAME`). */
  execOnNode(argv: string[], io: ProcessIO): Promise<number> {
    return runCommand(this.opts.workloads, this.nodeEnv, argv, io);
  }
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** How an exec ended: the program's exit code, or why it never started. */
export type ExecResult = CommandResult | { failure: 'not-running' };
type CommandResult = { exitCode: number } | { failure: 'not-executable'; program: string };

/** Start argv[0] as a client tool in `env`; an unknown program fails the way a container runtime reports it. */
export async function runCommand(workloads: Workloads, env: PodEnv, argv: string[], io: ProcessIO): Promise<number> {
  const r = await startCommand(workloads, env, argv, io);
  return 'exitCode' in r ? r.exitCode : notExecutable(r.program, io);
}

/** Why containerd could not start a pod exec's program, as the apiserver passes it on (a fresh exec id each time). */
export function containerExecFailure(program: string): string {
  return (
    'Internal error occurred: error executing command in container: failed to exec in container: ' +
    `failed to start exec ${JSON.stringify(execId())}: OCI runtime exec failed: exec failed: unable to start container process: ` +
    `exec: ${JSON.stringify(program)}: executable file not found in $PATH: unknown`
  );
}

function notExecutable(program: string, io: ProcessIO): number {
  io.stderr(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown\n`);
  return 127;
}

/** Start argv[0] as a client tool in `env`; resolves to its exit code, or says it is not there. */
export async function startCommand(workloads: Workloads, env: PodEnv, argv: string[], io: ProcessIO): Promise<CommandResult> {
  const program = argv[0];
  const cmd = program ? workloads.commandByName(program) : undefined;
  if (!cmd) return { failure: 'not-executable', program: program ?? '' };
  try {
    return { exitCode: await cmd(env, argv, io) };
  } catch (err) {
    io.stderr(`${program}: ${err instanceof Error ? err.message : String(err)}\n`);
    return { exitCode: 1 };
  }
}
