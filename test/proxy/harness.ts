// The workload lab (CoreDNS, backend, deathstar, frontend on two nodes) with
// an L7 proxy on each node. Until the policy engine assigns redirects, tests
// seed the redirecting policy map entries by hand and give the proxies their
// rules directly (StaticL7Policy).

import assert from 'node:assert/strict';
import { makeLab, type Lab, type PodKey, type RunResult } from '../apps/harness.js';
import { commandByName, createPodEnv, type PodEnv, type ProcessIO } from '../../src/apps/index.js';
import { text } from '../../src/apps/proc.js';
import { drive } from '../../src/util/drive.js';
import type { Pod } from '../helpers/world.js';
import { deletePolicyEntry, putPolicyEntry } from '../../src/datapath/map-writer.js';
import { drainEvents, type DatapathEvent } from '../../src/datapath/monitor.js';
import type { AccessLogRecord } from '../../src/datapath/accesslog.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { L7Proxy, PROXY_PORTS, StaticL7Policy, type L7Direction, type L7PolicyRules, type L7ProxyOptions } from '../../src/proxy/index.js';

export interface ProxyLab extends Lab {
  proxies: L7Proxy[];
  /** Another pod (tiefighter, xwing, ...) with its own identity. */
  addClient(name: string, nodeIndex: number, ip: string, identity: number, namespace?: string): { pod: Pod; env: PodEnv };
  runIn(env: PodEnv, argv: string[]): Promise<RunResult>;
  policy: StaticL7Policy;
  /** Events drained from every node so far (each call drains more). */
  events(): DatapathEvent[];
  accessLog(): AccessLogRecord[];
}

export function makeProxyLab(opts: Partial<Pick<L7ProxyOptions, 'onFqdnUpdate'>> = {}): ProxyLab {
  const lab = makeLab();
  const policy = new StaticL7Policy();
  const proxies = lab.w.nodes.map((n) => new L7Proxy({ dp: n.dp, kernel: n.kernel, rng: lab.w.rng.fork(), policy: policy.lookup, ...opts }).attach(n.kernel));
  const seen: DatapathEvent[] = [];
  const events = (): DatapathEvent[] => {
    for (const n of lab.w.nodes) seen.push(...drainEvents(n.dp.events));
    return seen;
  };
  const accessLog = (): AccessLogRecord[] => events().flatMap((e) => (e.type === 'access-log' ? [e.record] : []));
  const addClient: ProxyLab['addClient'] = (name, nodeIndex, ip, identity, namespace = 'default') => {
    const pod = lab.w.addPod(name, nodeIndex, ip, identity);
    const env = createPodEnv({ podName: name, namespace, ip: pod.ip, stack: pod.stack, clock: lab.w.clock, rng: lab.w.rng.fork() });
    return { pod, env };
  };
  const runIn: ProxyLab['runIn'] = async (env, argv) => {
    const cmd = commandByName(argv[0]!);
    if (!cmd) throw new Error(`no command ${argv[0]}`);
    let stdout = '';
    let stderr = '';
    const io: ProcessIO = {
      stdout: (c) => (stdout += typeof c === 'string' ? c : text(c)),
      stderr: (c) => (stderr += typeof c === 'string' ? c : text(c)),
      signal: new AbortController().signal,
    };
    const t0 = lab.w.clock.now();
    const code = await drive(lab.w.clock, cmd(env, argv, io));
    return { code, stdout, stderr, elapsedMs: lab.w.clock.now() - t0 };
  };
  return { ...lab, proxies, policy, events, accessLog, addClient, runIn };
}

/**
 * What the policy engine would write for an L7 rule: the pod's allow-all entry
 * for the direction goes, and (peer, proto, port) redirects to the listener.
 */
export function redirectPort(pod: Pod, direction: L7Direction, port: number, opts: { peer?: number; proto?: number; parser?: 'http' | 'dns' } = {}): number {
  const egress = direction === 'egress';
  deletePolicyEntry(pod.policyMap, { identity: 0, egress, proto: 0, port: 0 });
  const proxyPort = PROXY_PORTS[`${opts.parser ?? 'http'}-${direction}`];
  assert.equal(putPolicyEntry(pod.policyMap, { identity: opts.peer ?? 0, egress, proto: opts.proto ?? IpProto.TCP, port, proxyPort }), 0);
  return proxyPort;
}

export function l7Rules(lab: ProxyLab, pod: PodKey, direction: L7Direction, port: number, rules: L7PolicyRules): void {
  lab.policy.add({ endpointId: lab.pods[pod].ep.id, direction, port, rules });
}
