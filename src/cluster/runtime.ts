// The in-process cluster: one SQLite store and apiserver, and per node a
// datapath (maps + programs), a kernel (devices, VXLAN), the node's own
// network namespace, a Cilium agent and a kubelet; external hosts on the same
// underlay; the controllers. Everything reacts to committed writes: the store
// feeds the informer cache and every reconciler's observe(), and settle()
// runs the reconcilers until none has work left.
//
// Read-your-writes: writes through `runtime.api` call settle() before they
// return, so when a create/delete/label returns every agent has realized it
// (maps written, endpoints plumbed, CiliumEndpoints published). Writes that
// reach the apiserver any other way (its HTTP handler, a container crash)
// schedule a settle on the microtask queue, which runs before the process
// handles its next request; the daemon may also call settle() after each
// request to make that explicit.

import { ApiServer, type PodExecRequest, type DeleteRequestOptions, type ListRequestOptions, type PatchType, type UpdateRequestOptions, type WatchHandle, type WatchRequestOptions, type WriteRequestOptions } from '../k8s/apiserver.js';
import type { PodPortForwarder } from '../k8s/portforward.js';
import { Store, type StoreEvent } from '../k8s/store.js';
import type { ExecOutcome } from '../k8s/exec-websocket.js';
import { withTerminal } from '../apps/terminal.js';
import { RESOURCES, type ResourceInfo } from '../k8s/resources.js';
import type { ApiResult, KubeList, KubeObject, WatchEvent } from '../k8s/types.js';
import { ipv4ToString, parseCidr, parseIpv4Addr } from '../packet/ip.js';
import { writeMac } from '../packet/mac.js';
import { NodeDatapath, defaultNodeConfig } from '../datapath/sim/node-datapath.js';
import { DEFAULT_MAP_SIZES, type NodeMapSizes } from '../datapath/maps.js';
import { NodeKernel } from '../net/node-kernel.js';
import { Underlay, UNDERLAY_GATEWAY_MAC, type UnderlayPort } from '../net/underlay.js';
import { CookieSource, NetStack, type SockHooks, type TcpSocket } from '../net/stack/index.js';
import { Agent, RemoteEndpointFeed } from '../agent/agent.js';
import { CILIUM_IDENTITIES, IdentityAllocator } from '../agent/identity.js';
import type { PolicyComputer } from '../agent/policy.js';
import { PolicyEngine, policyAdmission } from '../policy/index.js';
import { L7Proxy, engineL7Lookup, redirectPort } from '../proxy/index.js';
import { commandByName, serverForImage } from '../apps/registry.js';
import { CLUSTER_DOMAIN, type PodEnv, type ProcessIO, type ServerApp, type ServerHandle, type ServerSpec } from '../apps/types.js';
import { VirtualClock, type Clock } from '../util/clock.js';
import { Rng } from '../util/rng.js';
import { monitorAggregationValue, nodeLayout, parseClusterConfig, type ClusterConfig, type ClusterConfigInput, type ExternalHostConfig, type NodeLayout } from './config.js';
import { ObjectCache } from './controllers/cache.js';
import { R, podNodeName, type ControllerContext, type Reconciler } from './controllers/common.js';
import { pickPod, type OrderedPod } from '../k8s/pod-order.js';
import { controlPlanePods, demoObjects, type DemoPlacement, nodeObject, systemObjects, serviceAddress, type BootstrapObject, KUBERNETES_VERSION } from './controllers/bootstrap.js';
import { DaemonSetController } from './controllers/daemonset.js';
import { DeploymentController } from './controllers/deployment.js';
import { ClusterDnsRecords } from './controllers/dns-records.js';
import { EndpointSliceController } from './controllers/endpointslice.js';
import { EndpointsController } from './controllers/endpoints.js';
import { PolicyValidationController } from './controllers/policy-validation.js';
import { ReplicaSetController } from './controllers/replicaset.js';
import { Scheduler } from './controllers/scheduler.js';
import { ServiceAccountController } from './controllers/serviceaccount.js';
import { ServiceIpAllocator } from './controllers/service-ip.js';
import { containerExecFailure, Kubelet, portForwardFailure, runCommand, type Workloads } from './kubelet.js';
import { ciliumCommand } from '../cli/cilium/command.js';
import type { CiliumNodeContext } from '../cli/cilium/context.js';
import type { AppCommand } from '../apps/types.js';
import { rfc3339Seconds } from '../k8s/store.js';
import { Hubble, type HubbleHistoryConfig } from '../hubble/hubble.js';
import { hubbleCommand } from '../cli/hubble.js';
import { AuditPolicyMaps } from '../trace/audit.js';
import { policyTraceCommand } from '../trace/policy-trace.js';

export interface ClusterRuntimeOptions {
  /** A validated config, or input to validate (defaults: kind's layout, 3 workers). */
  config?: ClusterConfig | ClusterConfigInput;
  /** The one clock (default: a fresh VirtualClock). */
  clock?: Clock;
  /** SQLite file; ':memory:' (the default) for a throwaway cluster. */
  dbPath?: string;
  /** Overrides config.seed. */
  seed?: number;
  /** What containers run and what exec can start (default: src/apps' registry). */
  workloads?: Workloads;
  /** The policy engine (default: src/policy's PolicyEngine, fed by the store; see src/agent/policy.ts). */
  policy?: PolicyComputer;
  /**
   * Per-node BPF map sizes (default: Cilium's defaults, ~8 MB per node
   * preallocated). Large simulated clusters may shrink them, as Cilium's
   * dynamic sizing does on small machines (e.g. ctTcp 131072, ctAny 65536).
   */
  mapSizes?: Partial<NodeMapSizes>;
  /** --bpf-policy-map-max (default 16384). The simulated maps preallocate, so 10,000 endpoints want less. */
  policyMapMax?: number;
  /** Hubble: ring capacity per node (2^n−1, default 4095) and flow history (default: beside dbPath, or in memory). */
  hubble?: { capacity?: number; history?: HubbleHistoryConfig };
}

export interface ClusterNode {
  name: string;
  role: NodeLayout['role'];
  index: number;
  ip: number;
  mac: number;
  podCidr: { addr: number; prefixLen: number };
  dp: NodeDatapath;
  kernel: NodeKernel;
  /** The node's own network namespace (host stack). */
  host: NetStack;
  agent: Agent;
  kubelet: Kubelet;
  /** The L7 proxy behind redirected policy map entries (HTTP and DNS). */
  proxy: L7Proxy;
}

export interface ExternalHost {
  name: string;
  ip: number;
  mac: number;
  config: ExternalHostConfig;
  stack: NetStack;
  env: PodEnv;
  handle: ServerHandle | null;
}

export type ExecTarget = { kind: 'pod'; namespace: string; name: string } | { kind: 'node'; name: string } | { kind: 'host'; name: string };

/** A policy engine that also watches the store (PolicyEngine does). */
function isReconciler(p: PolicyComputer): p is PolicyComputer & Reconciler {
  const r = p as Partial<Reconciler>;
  return typeof r.observe === 'function' && typeof r.hasWork === 'function' && typeof r.run === 'function';
}

/** The apiserver's in-process API, with every write followed by settle(). */
export class SettlingApi {
  constructor(
    readonly server: ApiServer,
    private readonly settle: () => void,
  ) {}

  private after<T>(r: T): T {
    this.settle();
    return r;
  }

  get(resource: ResourceInfo, namespace: string | undefined, name: string): ApiResult<KubeObject> {
    return this.server.get(resource, namespace, name);
  }

  list(resource: ResourceInfo, opts?: ListRequestOptions): ApiResult<KubeList> {
    return this.server.list(resource, opts);
  }

  watch(resource: ResourceInfo, opts: WatchRequestOptions, onEvent: (e: WatchEvent) => void): ApiResult<WatchHandle> {
    return this.server.watch(resource, opts, onEvent);
  }

  create(resource: ResourceInfo, namespace: string | undefined, body: unknown, opts?: WriteRequestOptions): ApiResult<KubeObject> {
    return this.after(this.server.create(resource, namespace, body, opts));
  }

  update(resource: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts?: UpdateRequestOptions): ApiResult<KubeObject> {
    return this.after(this.server.update(resource, namespace, name, body, opts));
  }

  patch(resource: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts?: UpdateRequestOptions): ApiResult<KubeObject> {
    return this.after(this.server.patch(resource, namespace, name, type, body, opts));
  }

  delete(resource: ResourceInfo, namespace: string | undefined, name: string, opts?: DeleteRequestOptions): ApiResult<KubeObject> {
    return this.after(this.server.delete(resource, namespace, name, opts));
  }

  deleteCollection(resource: ResourceInfo, opts?: ListRequestOptions & DeleteRequestOptions): ApiResult<KubeList> {
    return this.after(this.server.deleteCollection(resource, opts));
  }
}

/** External hosts' `echo` app: every TCP port echoes what it reads, every UDP port echoes datagrams. */
class EchoServer implements ServerApp {
  start(env: PodEnv, spec: ServerSpec): ServerHandle {
    const closers: (() => void)[] = [];
    for (const p of spec.ports) {
      if ((p.protocol ?? 'TCP') === 'UDP') {
        const sock = env.stack.udpBind(p.containerPort);
        sock.onMessage = (bytes, ip, port) => sock.sendTo(ip, port, bytes);
        closers.push(() => sock.close());
      } else {
        const l = env.stack.tcpListen(p.containerPort, (s) => {
          s.onData = (b) => s.write(b);
          s.onEnd = () => s.end();
        });
        closers.push(() => l.close());
      }
    }
    return { stop: () => closers.forEach((c) => c()) };
  }
}

/** A machine on the underlay outside the cluster: a network stack with one app. */
class ExternalPort implements UnderlayPort {
  stack: NetStack | null = null;
  constructor(
    readonly ip: number,
    readonly mac: number,
  ) {}
  receive(buf: Uint8Array, off: number, len: number): void {
    this.stack?.receive(buf.slice(off, off + len));
  }
}

export class ClusterRuntime {
  readonly config: ClusterConfig;
  readonly clock: Clock;
  readonly store: Store;
  /** The raw apiserver (its HTTP handler for the daemon's socket). */
  readonly apiServer: ApiServer;
  /** In-process API whose writes settle the cluster before returning. */
  readonly api: SettlingApi;
  readonly cache: ObjectCache;
  readonly underlay: Underlay;
  readonly nodes: ClusterNode[] = [];
  readonly externalHosts: ExternalHost[] = [];
  readonly identities: IdentityAllocator;
  readonly dns: ClusterDnsRecords;
  readonly workloads: Workloads;
  /** Problems reconcilers reported (refused writes, failed CNI ADDs), oldest first, at most 1000. */
  readonly problems: string[] = [];
  /** True when this runtime found an existing cluster in the store. */
  readonly restored: boolean;
  /** Hubble: an observer per node on its cilium_events ring, history, metrics, the relay. */
  readonly hubble: Hubble;
  /** The policy engine every agent asks (a PolicyEngine unless options gave another). */
  readonly policy: PolicyComputer;

  private readonly rng: Rng;
  private readonly mapSizes: Partial<NodeMapSizes>;
  private readonly policyMapMax: number | undefined;
  private readonly reconcilers: Reconciler[] = [];
  /** CiliumEndpoint changes, recorded once for every node's agent. */
  private readonly remoteEndpoints = new RemoteEndpointFeed();
  private readonly unwatch: () => void;
  private ready = false;
  private settling = false;
  private settleQueued = false;
  private closed = false;

  /** Build (or, on an existing store, restore) the cluster and settle it. */
  static async create(opts: ClusterRuntimeOptions = {}): Promise<ClusterRuntime> {
    return new ClusterRuntime(opts);
  }

  private constructor(opts: ClusterRuntimeOptions) {
    // A validated config passes through the parser unchanged; anything else is validated here.
    const parsed = parseClusterConfig(opts.config ?? {});
    if (!parsed.ok) throw new Error(`invalid cluster config:\n${parsed.message}`);
    this.config = opts.seed !== undefined ? { ...parsed.config, seed: opts.seed } : parsed.config;
    this.clock = opts.clock ?? new VirtualClock();
    this.mapSizes = opts.mapSizes ?? {};
    this.policyMapMax = opts.policyMapMax;
    this.rng = new Rng(this.config.seed);
    this.store = new Store({ path: opts.dbPath ?? ':memory:', clock: this.clock, rng: this.rng.fork() });
    this.apiServer = new ApiServer({ store: this.store, clock: this.clock });
    this.api = new SettlingApi(this.apiServer, () => this.settle());
    this.apiServer.podLogs = (namespace, pod, container) => {
      const obj = this.cache.get(R.pods, namespace, pod);
      return obj ? this.node(podNodeName(obj))?.kubelet.logs(namespace, pod, container) : undefined;
    };
    this.apiServer.podExec = (req, io) => this.podExec(req, io);
    // The real kubectl's port-forward reaches pods the way podpath's own does (portForward below).
    this.apiServer.podPortForward = (namespace, pod) => this.podPortForwarder(namespace, pod);
    this.cache = new ObjectCache(this.store);
    this.restored = this.cache.count(R.nodes) > 0;
    this.unwatch = this.store.watch(undefined, (e) => this.onStoreEvent(e));

    const layout = nodeLayout(this.config);
    const serviceCidr = parseCidr(this.config.serviceCIDR)!;
    const report = (component: string, message: string): void => this.report(component, message);
    this.identities = new IdentityAllocator(this.apiServer.trusted, this.rng.fork(), this.cache.list(CILIUM_IDENTITIES), (m) => report('identity-allocator', m));
    this.apiServer.addAdmission(new ServiceIpAllocator(this.cache, serviceCidr, this.rng.fork()).admission);
    this.dns = new ClusterDnsRecords(this.cache, CLUSTER_DOMAIN, () => this.externalHosts.map((h) => ({ name: h.name, ip: h.ip })));
    this.workloads = opts.workloads ?? {
      serverFor: (image, command) => serverForImage(image, command, { dnsRecords: this.dns.lookup }),
      commandByName,
    };
    this.underlay = new Underlay(this.clock);

    // Nodes first: the agents read their Node, and a fresh store gets kind's.
    const now = rfc3339Seconds(this.clock.wallNow());
    if (!this.restored) for (const n of layout) this.ensure({ resource: R.nodes, obj: nodeObject(this.config, n, now) });

    // Policies are validated at apply; the engine sees every store event before the agents ask it.
    this.policy =
      opts.policy ??
      new PolicyEngine({ clusterName: this.config.cilium.clusterName, proxyPort: redirectPort, ...(this.policyMapMax ? { policyMapMaxEntries: this.policyMapMax } : {}), report: (m) => report('policy', m) });
    this.apiServer.addAdmission(policyAdmission());
    const ctx: ControllerContext = { api: this.apiServer.trusted, cache: this.cache, clock: this.clock, rng: this.rng.fork(), report };
    for (const n of layout) this.nodes.push(this.buildNode(n, ctx, this.policy));
    const historyPath = !opts.dbPath || opts.dbPath === ':memory:' ? ':memory:' : opts.dbPath.replace(/(\.db)?$/, '-hubble.db');
    this.hubble = new Hubble({ clock: this.clock, clusterName: this.config.cilium.clusterName, view: this.cache, identities: this.identities, version: () => this.store.resourceVersion, nodes: this.nodes, seed: this.config.seed, policyNamer: this.policy, dnsNames: (ip) => this.nodes.flatMap((n) => n.proxy.fqdn.namesOf(ip)), ...opts.hubble, history: { path: historyPath, ...opts.hubble?.history } });
    for (const h of this.config.externalHosts) this.externalHosts.push(this.buildExternalHost(h));

    if (!this.restored) {
      for (const o of systemObjects(this.config, serviceCidr, layout)) this.ensure(o);
      const cpUid = this.cache.get(R.nodes, undefined, layout[0]!.name)?.metadata.uid ?? '';
      for (const o of controlPlanePods(this.config, layout, cpUid)) this.ensure(o);
    }

    this.reconcilers.push(
      ...(isReconciler(this.policy) ? [this.policy] : []),
      new ServiceAccountController(ctx),
      new DeploymentController(ctx),
      new ReplicaSetController(ctx),
      new DaemonSetController(ctx),
      new Scheduler(ctx),
      new EndpointSliceController(ctx),
      new EndpointsController(ctx),
      new PolicyValidationController(ctx),
      ...this.nodes.map((n) => n.kubelet),
      ...this.nodes.map((n) => n.agent),
      // Per-policy audit (podpath.io/mode: audit): each selected endpoint's audit map, after its agent wrote the real one.
      ...(this.policy instanceof PolicyEngine ? [new AuditPolicyMaps(this.nodes, this.policy, this.config.cilium.policyEnforcementMode as 'default' | 'always' | 'never', (ns, name) => this.cache.get(R.pods, ns, name))] : []),
    );
    // Like an informer's initial list: every reconciler sees every object once.
    for (const resource of RESOURCES) {
      for (const object of this.cache.list(resource)) {
        const e: StoreEvent = { type: 'ADDED', resource, object, resourceVersion: Number(object.metadata.resourceVersion ?? 0) };
        this.fanOut(e);
      }
    }
    this.ready = true;
    this.settle();
  }

  private buildNode(n: NodeLayout, ctx: ControllerContext, policy: PolicyComputer | undefined): ClusterNode {
    const nodeRng = new Rng((this.config.seed * 7919 + n.index * 104729 + 1) >>> 0);
    const plan = Agent.plan(this.cache, n.name, n.podCidr, nodeRng);
    const c = this.config.cilium;
    const dp = new NodeDatapath(
      defaultNodeConfig({
        nodeName: n.name,
        nodeIp: n.ip,
        nodeMac: n.mac,
        podCidr: n.podCidr,
        routerIp: plan.routerIp,
        routerMac: plan.routerMac,
        socketLb: c.socketLB,
        policyAuditMode: c.policyAuditMode,
        monitorAggregation: monitorAggregationValue(c.monitorAggregation),
        seed: nodeRng.u32(),
        mapSizes: { ...DEFAULT_MAP_SIZES, ...this.mapSizes },
      }),
      this.clock,
    );
    const kernel = new NodeKernel(dp, this.underlay);
    const labelsOf = (id: number): string[] | undefined => this.identities.labelsOf(id);
    const mode = c.policyEnforcementMode as 'default' | 'always' | 'never';
    const proxy = new L7Proxy({
      dp,
      kernel,
      rng: new Rng((this.config.seed * 7919 + n.index * 104729 + 7) >>> 0),
      labelsOf,
      ...(policy instanceof PolicyEngine
        ? {
            policy: engineL7Lookup(policy, labelsOf, mode),
            // toFQDNs: the engine learns the answer's addresses, the agents write policy maps and
            // ipcaches (settle), and only then is the DNS answer released to the pod.
            onFqdnUpdate: (u: { name: string; ips: number[]; ttl: number; timeMs: number }) => {
              policy.learnFqdn(u);
              this.settle();
              return Promise.resolve();
            },
          }
        : {}),
    }).attach(kernel);
    const cookies = new CookieSource(4096);
    const hooks: SockHooks | undefined = c.socketLB
      ? {
          connect4: (x) => kernel.sock.cil_sock4_connect(x),
          sendmsg4: (x) => kernel.sock.cil_sock4_sendmsg(x),
          recvmsg4: (x) => kernel.sock.cil_sock4_recvmsg(x),
          getpeername4: (x) => kernel.sock.cil_sock4_getpeername(x),
        }
      : undefined;
    const host = new NetStack({
      name: n.name,
      ip: n.ip,
      mac: n.mac,
      gatewayIp: plan.routerIp,
      gatewayMac: plan.routerMac,
      mtu: 1500,
      clock: this.clock,
      rng: nodeRng.fork(),
      transmit: (f) => kernel.hostTransmit(f),
      ...(hooks ? { sockHooks: hooks } : {}),
      cookies,
    });
    // The host namespace owns every device on the node (lxc veths, cilium_host): a frame the kernel
    // passes up arrived on one of them, addressed to that device's MAC. The host stack models one
    // interface, so address it to that interface before handing it over.
    kernel.hostReceive = (f) => {
      if (f.length >= 6) writeMac(f, 0, n.mac);
      host.receive(f);
    };
    const agent = new Agent({
      nodeName: n.name,
      nodeIp: n.ip,
      podCidr: n.podCidr,
      plan,
      dp,
      loader: kernel,
      api: this.apiServer.trusted,
      view: this.cache,
      identities: this.identities,
      clock: this.clock,
      rng: nodeRng,
      config: { clusterName: c.clusterName, policyEnforcementMode: c.policyEnforcementMode as 'default' | 'always' | 'never', policyAuditMode: c.policyAuditMode },
      ...(policy ? { policy } : {}),
      ...(this.policyMapMax ? { policyMapMax: this.policyMapMax } : {}),
      remoteEndpoints: this.remoteEndpoints,
      report: (m) => this.report(`cilium-agent/${n.name}`, m),
    });
    const kubelet = new Kubelet({
      node: { name: n.name, ip: n.ip, agent, kernel, host, cookies },
      api: this.apiServer.trusted,
      cache: this.cache,
      clock: this.clock,
      rng: nodeRng.fork(),
      workloads: this.workloads,
      socketLB: c.socketLB,
      clusterDnsIp: (parseCidr(this.config.serviceCIDR)!.addr + 10) >>> 0,
      clusterDomain: CLUSTER_DOMAIN,
      report: ctx.report,
      agentCommands: this.agentCommands(n.name, agent, dp, kernel),
    });
    return { name: n.name, role: n.role, index: n.index, ip: n.ip, mac: n.mac, podCidr: n.podCidr, dp, kernel, host, agent, kubelet, proxy };
  }

  private buildExternalHost(h: ExternalHostConfig): ExternalHost {
    const ip = parseCidr(h.ip)!.addr;
    const mac = 0x02_42_00_00_00_00 + ip;
    const port = new ExternalPort(ip, mac);
    const subnet = parseCidr(this.config.nodeSubnet)!;
    const stack = new NetStack({
      name: h.name,
      ip,
      mac,
      // The docker bridge of the kind network: the segment switches frames sent to it by IP.
      gatewayIp: (subnet.addr + 1) >>> 0,
      gatewayMac: UNDERLAY_GATEWAY_MAC,
      mtu: 1500,
      clock: this.clock,
      rng: this.rng.fork(),
      transmit: (f) => this.underlay.send(f),
    });
    port.stack = stack;
    this.underlay.attach(port);
    const env: PodEnv = {
      podName: h.name,
      namespace: '',
      hostname: h.name,
      ip,
      stack,
      clock: this.clock,
      rng: this.rng.fork(),
      resolv: { nameservers: [(parseCidr(this.config.serviceCIDR)!.addr + 10) >>> 0], search: [], ndots: 1 },
    };
    const app: ServerApp = h.app === 'echo' ? new EchoServer() : this.workloads.serverFor(`external/${h.name}`, undefined);
    const spec: ServerSpec = { ports: h.ports.map((p) => ({ containerPort: p.port, protocol: p.protocol })) };
    let handle: ServerHandle | null = null;
    try {
      handle = app.start(env, spec);
    } catch (err) {
      this.report(`host/${h.name}`, `app failed to start: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { name: h.name, ip, mac, config: h, stack, env, handle };
  }

  /** Create an object unless one of that name exists. */
  private ensure(o: BootstrapObject): void {
    const ns = o.obj.metadata.namespace;
    if (this.cache.get(o.resource, ns, o.obj.metadata.name ?? '')) return;
    const r = this.apiServer.create(o.resource, ns, o.obj);
    if (!r.ok) this.report('bootstrap', `create ${o.resource.kind} ${ns ? `${ns}/` : ''}${o.obj.metadata.name}: ${r.status.message}`);
  }

  private report(component: string, message: string): void {
    this.problems.push(`${component}: ${message}`);
    if (this.problems.length > 1000) this.problems.shift();
  }

  /** Reconcilers by kind, and node-local ones by node for pod changes (see Reconciler.watches/podsOfNode). */
  private routes: { count: number; byKind: Map<ResourceInfo, Reconciler[]>; podsByNode: Map<string, Reconciler[]> } | undefined;

  /** Hand a change to the reconcilers it concerns: a pod's change reaches its own node's kubelet and agent only. */
  private fanOut(e: StoreEvent): void {
    let routes = this.routes;
    if (!routes || routes.count !== this.reconcilers.length) {
      routes = { count: this.reconcilers.length, byKind: new Map(), podsByNode: new Map() };
      for (const kind of RESOURCES) {
        routes.byKind.set(
          kind,
          this.reconcilers.filter((r) => (!r.watches || r.watches.includes(kind)) && (kind !== R.pods || r.podsOfNode === undefined)),
        );
      }
      for (const r of this.reconcilers) {
        if (r.podsOfNode === undefined || (r.watches && !r.watches.includes(R.pods))) continue;
        const list = routes.podsByNode.get(r.podsOfNode) ?? [];
        list.push(r);
        routes.podsByNode.set(r.podsOfNode, list);
      }
      this.routes = routes;
    }
    for (const r of routes.byKind.get(e.resource) ?? this.reconcilers) r.observe(e);
    if (e.resource === R.pods) {
      const node = podNodeName(e.object);
      for (const r of routes.podsByNode.get(node) ?? []) r.observe(e);
      const before = e.previous ? podNodeName(e.previous) : node;
      if (before !== node) for (const r of routes.podsByNode.get(before) ?? []) r.observe(e);
    }
  }

  private onStoreEvent(e: StoreEvent): void {
    this.cache.apply(e);
    this.identities.observe(e);
    this.fanOut(e);
    if (this.ready && !this.settling && !this.settleQueued && !this.closed) {
      this.settleQueued = true;
      queueMicrotask(() => {
        this.settleQueued = false;
        if (!this.closed) this.settle();
      });
    }
  }

  /**
   * Run controllers, kubelets and agents until none has work left. Returns the
   * number of rounds. Re-entrant calls (a write made while settling) return at
   * once: the outer loop picks their work up.
   */
  settle(maxRounds = 10_000): number {
    if (this.settling || !this.ready || this.closed) return 0;
    this.settling = true;
    let rounds = 0;
    try {
      for (;;) {
        let worked = false;
        // One SQLite commit per round; each write stays atomic on its own (Store.batch).
        this.store.batch(() => {
          for (const r of this.reconcilers) {
            if (!r.hasWork()) continue;
            worked = true;
            try {
              r.run();
            } catch (err) {
              this.report(r.name, `reconcile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
            }
          }
        });
        if (!worked) break;
        if (++rounds >= maxRounds) {
          this.report('runtime', `settle gave up after ${maxRounds} rounds`);
          break;
        }
      }
    } finally {
      this.settling = false;
    }
    return rounds;
  }

  /** Plug a policy engine into every agent; each regenerates its endpoints' policy maps, then the cluster settles. */
  setPolicyComputer(policy: PolicyComputer): void {
    for (const n of this.nodes) n.agent.setPolicyComputer(policy);
    this.settle();
  }

  // ---- the lab --------------------------------------------------------------------

  /**
   * The lab's demo. `kubectl exec ds/cilium` reaches one agent pod; the lab
   * observes everything from there, so the frontends run on that agent's node
   * (pinned by nodeSelector); the scheduler spreads the backend and database
   * over the other workers, so their traffic crosses VXLAN.
   * Existing objects are left as they are.
   */
  deployDemo(): void {
    for (const o of demoObjects(this.demoPlacement())) {
      const ns = o.obj.metadata.namespace;
      if (this.cache.get(o.resource, ns, o.obj.metadata.name ?? '')) continue;
      const r = this.api.create(o.resource, ns, o.obj);
      if (!r.ok) throw new Error(`deploy demo: ${o.resource.kind} ${o.obj.metadata.name}: ${r.status.message}`);
    }
  }

  private demoPlacement(): DemoPlacement {
    const agents = this.cache
      .list(R.pods, 'kube-system')
      .filter((p) => (p.metadata.labels ?? {})['k8s-app'] === 'cilium')
      .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const workers = this.nodes.filter((n) => n.role === 'worker').map((n) => n.name);
    const picked = (pickPod(agents as OrderedPod[])?.spec?.nodeName ?? '') as string;
    const frontend = workers.includes(picked) ? picked : workers[0];
    return frontend ? { frontend } : {};
  }

  // ---- lookups ----------------------------------------------------------------------

  node(name: string): ClusterNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  /** The node a pod runs on, and its running state there. */
  pod(namespace: string, name: string): { node: ClusterNode; env: PodEnv; object: KubeObject } | undefined {
    const object = this.cache.get(R.pods, namespace, name);
    const nodeName = (object?.['spec'] as { nodeName?: string } | undefined)?.nodeName;
    const node = nodeName ? this.node(nodeName) : undefined;
    const running = node?.kubelet.running(namespace, name);
    return object && node && running ? { node, env: running.env, object } : undefined;
  }

  /** Pods of a namespace with a label (`app=frontend`), sorted by name as kubectl lists them. */
  podsWithLabel(namespace: string, key: string, value: string): KubeObject[] {
    return this.cache
      .list(R.pods, namespace)
      .filter((p) => p.metadata.labels?.[key] === value)
      .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  }

  externalHost(name: string): ExternalHost | undefined {
    return this.externalHosts.find((h) => h.name === name);
  }

  /** kube-dns's address, 10.96.0.10 by default. */
  get clusterDnsIp(): string {
    return serviceAddress(parseCidr(this.config.serviceCIDR)!, 10);
  }

  // ---- exec -------------------------------------------------------------------------

  /**
   * The kubelet's side of port-forward for one pod (undefined for an unknown
   * or unscheduled pod): how both the apiserver's pods/portforward and
   * podpath's own kubectl reach pods, failures worded as the kubelet words them.
   */
  podPortForwarder(namespace: string, pod: string): PodPortForwarder | undefined {
    const obj = this.cache.get(R.pods, namespace, pod);
    if (!obj || !this.node(podNodeName(obj))) return undefined;
    const uid = obj.metadata.uid ?? '';
    return {
      dial: (port) => this.portForward(namespace, pod, port),
      failure: (port, err, connected) => portForwardFailure(uid, port, err, connected),
    };
  }

  /**
   * `kubectl port-forward`: a TCP connection to a pod's port, opened from its
   * node's own namespace as the kubelet does. Throws a kubectl-style message
   * for an unknown or unscheduled pod.
   */
  portForward(namespace: string, name: string, port: number): TcpSocket {
    const obj = this.cache.get(R.pods, namespace, name);
    if (!obj) throw new Error(`pods "${name}" not found`);
    const node = this.node(podNodeName(obj));
    const ip = parseIpv4Addr(String((obj['status'] as { podIP?: string } | undefined)?.podIP ?? ''));
    if (!node || ip === null) throw new Error(`unable to forward port because pod is not running. Current status=${String((obj['status'] as { phase?: string } | undefined)?.phase ?? 'Pending')}`);
    return node.host.tcpConnect(ip, port);
  }

  /**
   * `kubectl exec` through the apiserver (pods/{name}/exec): the pod's kubelet
   * runs the command; what keeps it from starting reads as the apiserver
   * reports it from a containerd node.
   */
  async podExec(req: PodExecRequest, io: ProcessIO): Promise<ExecOutcome> {
    const obj = this.cache.get(R.pods, req.namespace, req.pod);
    const node = obj ? this.node(podNodeName(obj)) : undefined;
    // With a TTY, the command runs behind a terminal (kubectl sends raw keys).
    const r = node ? await node.kubelet.startExec(req.namespace, req.pod, req.command, io.tty ? withTerminal(io) : io) : ({ failure: 'not-running' } as const);
    if ('exitCode' in r) return r;
    if (r.failure === 'not-running') return { error: `unable to upgrade connection: container not found (${JSON.stringify(req.container)})` };
    return { error: containerExecFailure(r.program) };
  }

  /** `podpath exec`: run a client tool in a pod, a node's host namespace or an external host. Resolves to the exit code. */
  exec(target: ExecTarget, argv: string[], io: ProcessIO): Promise<number> {
    switch (target.kind) {
      case 'pod': {
        const obj = this.cache.get(R.pods, target.namespace, target.name);
        if (!obj) {
          io.stderr(`Error from server (NotFound): pods "${target.name}" not found\n`);
          return Promise.resolve(1);
        }
        const nodeName = (obj['spec'] as { nodeName?: string } | undefined)?.nodeName ?? '';
        const node = this.node(nodeName);
        if (!node || !node.kubelet.running(target.namespace, target.name)) {
          io.stderr(`error: unable to upgrade connection: container not found ("${target.name}")\n`);
          return Promise.resolve(1);
        }
        return node.kubelet.exec(target.namespace, target.name, argv, io);
      }
      case 'node': {
        const node = this.node(target.name);
        if (!node) {
          io.stderr(`Error: no node named "${target.name}" (nodes: ${this.nodes.map((n) => n.name).join(', ')})\n`);
          return Promise.resolve(1);
        }
        return node.kubelet.execOnNode(argv, io);
      }
      case 'host': {
        const host = this.externalHost(target.name);
        if (!host) {
          io.stderr(`Error: no external host named "${target.name}"\n`);
          return Promise.resolve(1);
        }
        return runCommand(this.workloads, host.env, argv, io);
      }
    }
  }

  /** What `kubectl exec ds/cilium -- cilium-dbg ...` runs: this node's agent and maps only. */
  private agentCommands(nodeName: string, agent: Agent, dp: NodeDatapath, kernel: NodeKernel): Record<string, AppCommand> {
    const c = this.config.cilium;
    const ctx: CiliumNodeContext = {
      nodeName,
      agent,
      dp,
      deviceName: (i) => kernel.deviceName(i),
      settings: {
        clusterName: this.config.name,
        policyEnforcementMode: c.policyEnforcementMode as CiliumNodeContext['settings']['policyEnforcementMode'],
        policyAuditMode: c.policyAuditMode,
        socketLB: c.socketLB,
        monitorAggregation: c.monitorAggregation,
        kubernetesVersion: KUBERNETES_VERSION,
      },
      ...(this.policy instanceof PolicyEngine ? { policy: this.policy } : {}),
    };
    ctx.subscribeEvents = (listener) => this.hubble.tapEvents((node, e) => node === nodeName && listener(e));
    ctx.hubbleFlows = () => ({ current: this.hubble.observer(nodeName)?.ring.size ?? 0, max: this.hubble.observer(nodeName)?.ring.capacity ?? 0 });
    ctx.policyTrace = (args) => policyTraceCommand(this, args);
    const cilium = ciliumCommand(ctx);
    return { cilium, 'cilium-dbg': cilium, hubble: hubbleCommand(() => this.hubble.backend(nodeName), { nodeName, cluster: () => this.hubble.relay }) };
  }

  /** Summary for `podpath status`. */
  summary(): { name: string; nodes: { name: string; ip: string; podCIDR: string; routerIp: string }[]; pods: number; restored: boolean } {
    return {
      name: this.config.name,
      nodes: this.nodes.map((n) => ({
        name: n.name,
        ip: ipv4ToString(n.ip),
        podCIDR: `${ipv4ToString(n.podCidr.addr)}/${n.podCidr.prefixLen}`,
        routerIp: ipv4ToString(n.agent.routerIp),
      })),
      pods: this.cache.count(R.pods),
      restored: this.restored,
    };
  }

  /** Stop every app and close the store (the objects stay in the file). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const n of this.nodes) n.kubelet.shutdown();
    for (const h of this.externalHosts) {
      h.handle?.stop();
      h.stack.shutdown();
    }
    this.unwatch();
    this.hubble.close();
    await this.apiServer.close();
    this.store.close();
  }
}
