// The packet journey model: what `podpath trace -o json` prints, what the
// daemon's /podpath/v1/trace returns and what the web UI steps through.
// Stable: fields are only ever added (TRACE_MODEL_VERSION says which set).
//
// A trace is a list of steps, one per program or decision, in the order they
// happened across nodes: the DNS answer, socket LB, every from-*/to-* point
// (monitor aggregation off in the fork), the ipcache lookup, each policy
// decision with the rules behind it, conntrack, VXLAN encapsulation as seen on
// the wire, drops, deliveries. `forward` and `reply` give each direction's
// outcome; `verdict` sums them up.

export const TRACE_MODEL_VERSION = 1;

export type TraceProtocol = 'TCP' | 'UDP' | 'ICMP' | 'SCTP';

/** Who sends or receives. */
export interface TracePeer {
  kind: 'pod' | 'node' | 'host' | 'ip' | 'service' | 'world';
  /** `demo/frontend-5d8f…`, `node/kind-worker`, `host/ext`, `svc/demo/backend`, or the address. */
  name: string;
  ip: string;
  namespace?: string;
  pod?: string;
  /** The node a pod runs on, or the node itself. */
  node?: string;
  /** Security identity as the datapath sees it (a pod's, 1 = host on its own node, 6 = remote-node, 2 = world). */
  identity?: number;
  identityLabels?: string[];
  endpointId?: number;
  /** The lxc device of a pod's endpoint. */
  ifname?: string;
}

/** An L3/L4 tuple as a packet carried it at one point. */
export interface TraceTuple {
  protocol: TraceProtocol | string;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  /** ICMP type (8 echo request, 0 echo reply). */
  icmpType?: number;
  /** TCP flags (`SYN`, `SYN, ACK`). */
  flags?: string;
}

export type StepKind =
  | 'dns'
  | 'socket-lb'
  | 'trace'
  | 'ipcache'
  | 'policy'
  | 'audit'
  | 'conntrack'
  | 'encap'
  | 'wire'
  | 'drop'
  | 'deliver'
  | 'proxy'
  | 'l7';

/** The rule (one element of one section of one policy) behind a decision. */
export interface TraceRule {
  kind: string;
  namespace?: string;
  name: string;
  /** Which rule of the object: 0 for `spec`, i for `specs[i]`. */
  ruleIndex: number;
  rulePath: string;
  /** `ingress`, `egressDeny`, … and the element's index in it. */
  section: string;
  index: number;
  direction: 'ingress' | 'egress';
  deny: boolean;
  /** `CiliumNetworkPolicy demo/allow-frontend ingress[0]` */
  text: string;
}

export interface TracePolicyDecision {
  endpointId: number;
  direction: 'ingress' | 'egress';
  /** Whether the endpoint enforces policy in this direction (the map then holds allow-all otherwise). */
  enforced: boolean;
  /** The policy map key that was looked up. */
  key: { identity: number; identityLabels: string[]; direction: 'ingress' | 'egress'; protocol: number; port: number };
  /** `L3-L4`, `L4-Only`, `L3-Only`, `all`, `none`, … */
  match: string;
  verdict: 'allow' | 'deny' | 'redirect' | 'audit';
  proxyPort?: number;
  /** Drop reason for a deny: 133 Policy denied, 181 Policy denied by denylist. */
  dropReason?: { code: number; text: string };
  /** The entry's cookie (0: no entry matched). */
  cookie: number;
  rules: TraceRule[];
  /** Allow rules an explicit deny overrode. */
  overridden?: TraceRule[];
  /** Entries no rule wrote: `enforcement-disabled` (allow-all), `allow-localhost`. */
  implicit?: string;
  /** Default deny: the rules that put the endpoint into default deny in this direction. */
  selectedBy?: TraceRule[];
  explanation: string;
}

export interface TraceStep {
  /** 1-based, across forward and reply. */
  seq: number;
  direction: 'forward' | 'reply';
  /** Node name; absent for cluster-level steps (DNS) and external hosts (`host/NAME` in `where`). */
  node?: string;
  /** Where: `tc ingress lxc1a2b3c4d5e6`, `cgroup/connect4`, `tc ingress cilium_vxlan`, `tail call cilium_call_policy[2345]`, `underlay`. */
  hook: string;
  /** The program (function) that ran: `cil_from_container`, `cil_sock4_connect`, `handle_policy`, … */
  program: string;
  kind: StepKind;
  /** Observation point (`from-endpoint`, `to-overlay`, …) of a trace event. */
  point?: string;
  /** One line for people. */
  summary: string;
  packet?: TraceTuple;
  identity?: { source: number; destination: number };
  endpointId?: number;
  dns?: { query: string; tried: string[]; answer: string[]; rcode: 'NOERROR' | 'NXDOMAIN'; server: string };
  lb?: {
    service?: string;
    frontend: string;
    backend: string;
    backendId: number;
    slot: number;
    slots: number;
    /** How the slot was chosen: `random` (TCP: get_prandom_u32()), `socket-cookie` (UDP). */
    choice: 'random' | 'socket-cookie';
    revNatIndex: number;
    point: 'connect' | 'sendmsg' | 'getpeername' | 'recvmsg';
  };
  ipcache?: { ip: string; found: boolean; identity: number; identityLabels: string[]; tunnelEndpoint: string; peer?: string };
  ct?: {
    state: string;
    /** Entries ct_create4() wrote here: `OUT 10.0.1.5:43210 -> 10.0.2.7:8080 TCP`. */
    created: string[];
    policySkipped: boolean;
  };
  policy?: TracePolicyDecision;
  encap?: { outerSrc: string; outerDst: string; udpSrcPort: number; udpDstPort: number; vni: number; vniIdentityLabels: string[] };
  drop?: { code: number; reason: string; file: string; line: number };
  proxy?: { port: number; direction: 'ingress' | 'egress'; rules?: unknown[]; allowAll?: boolean };
  l7?: { method: string; path: string; allowed: boolean; status: number };
  /** The `cilium monitor` line of the event behind this step, when there is one. */
  monitor?: string;
}

export interface TraceOutcome {
  result: 'delivered' | 'dropped' | 'denied-by-proxy' | 'to-proxy' | 'unresolved' | 'connect-failed' | 'lost';
  /** `delivered to endpoint 2345 (demo/backend-… on kind-worker2)`, `dropped (Policy denied) at …` */
  text: string;
  node?: string;
  /** Delivered to this endpoint (pods). */
  endpointId?: number;
  peer?: string;
  drop?: { code: number; reason: string; file: string; line: number; node?: string; direction?: 'ingress' | 'egress' };
  http?: { status: number };
}

export interface TraceResult {
  version: typeof TRACE_MODEL_VERSION;
  request: {
    src: string;
    dst: string;
    protocol: TraceProtocol;
    port?: number;
    httpMethod?: string;
    httpPath?: string;
    reply: boolean;
    with?: string[];
    without?: string[];
  };
  source: TracePeer;
  destination: TracePeer;
  /** DST named a Service (or a name resolving to one). */
  service?: { namespace: string; name: string; frontend: string };
  forward: { tuple: TraceTuple; outcome: TraceOutcome };
  reply?: { tuple: TraceTuple; outcome: TraceOutcome } | { skipped: string };
  steps: TraceStep[];
  /** ALLOWED when the request (and, with --reply, its answer) got through; DENIED when policy or the proxy stopped it. */
  verdict: 'ALLOWED' | 'DENIED' | 'UNREACHABLE';
  /** --with / --without: the policies applied to the fork, and the same trace without them. */
  whatIf?: { added: string[]; removed: string[]; problems: string[]; before: { verdict: TraceResult['verdict']; forward: TraceOutcome; reply?: TraceOutcome } };
  /** --record: the fork's events went to Hubble as flows. */
  recorded: boolean;
  /** Wall time the trace took (ms). */
  elapsedMs: number;
}
