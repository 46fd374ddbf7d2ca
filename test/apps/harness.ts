// A small cluster for the workload tests: CoreDNS behind 10.96.0.10, the
// lab's backend behind "backend" in demo, a frontend, and the deathstar, all
// on the real datapath (socket LB, VXLAN between the two nodes, policy).

import { World, ip, type Pod } from '../helpers/world.js';
import { drive } from '../../src/util/drive.js';
import { text } from '../../src/apps/proc.js';
import { commandByName, createPodEnv, serverForImage, type PodEnv, type ProcessIO, type ServerHandle } from '../../src/apps/index.js';

export const DNS_VIP = '10.96.0.10';
export const BACKEND_VIP = '10.96.12.34';
export const DEATHSTAR_VIP = '10.96.50.50';
export const NETEXEC_VIP = '10.96.70.70';

export type PodKey = 'coredns' | 'backend' | 'frontend' | 'deathstar' | 'netexec';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Virtual ms the command took. */
  elapsedMs: number;
}

export interface Lab {
  w: World;
  pods: Record<PodKey, Pod>;
  envs: Record<PodKey, PodEnv>;
  /** Names CoreDNS answers, editable by tests. */
  records: Map<string, number[]>;
  servers: ServerHandle[];
  /** Every name CoreDNS was asked, in order, with the query type. */
  queries: { name: string; qtype: number }[];
  logs: Record<PodKey, string[]>;
  run(pod: PodKey, argv: string[], opts?: { stdin?: string[]; signalAfterMs?: number; signal?: string; tty?: boolean }): Promise<RunResult>;
}

export function makeLab(): Lab {
  const w = new World();
  const pods = {
    coredns: w.addPod('coredns-5d78c9869d-6hx8f', 0, '10.0.1.10', 102),
    frontend: w.addPod('frontend-7d4b9c8f6-abcde', 0, '10.0.1.50', 12345),
    backend: w.addPod('backend-6c9f8b7d5-xyz12', 1, '10.0.2.100', 23456),
    deathstar: w.addPod('deathstar-6fb5694d48-5hmds', 1, '10.0.2.80', 34567),
    netexec: w.addPod('netexec-0', 1, '10.0.2.120', 45678),
  };
  w.addService(DNS_VIP, 53, [{ addr: '10.0.1.10', port: 53 }]);
  w.addService(BACKEND_VIP, 8080, [{ addr: '10.0.2.100', port: 8080 }]);
  w.addService(DEATHSTAR_VIP, 80, [{ addr: '10.0.2.80', port: 80 }]);
  w.addService(NETEXEC_VIP, 8080, [{ addr: '10.0.2.120', port: 8080 }]);
  w.addService(NETEXEC_VIP, 8081, [{ addr: '10.0.2.120', port: 8081 }]);
  const ns = { coredns: 'kube-system', frontend: 'demo', backend: 'demo', deathstar: 'default', netexec: 'demo' } as const;
  const envs = Object.fromEntries(
    (Object.keys(pods) as (keyof typeof pods)[]).map((k) => [
      k,
      createPodEnv({ podName: pods[k].name, namespace: ns[k], ip: pods[k].ip, stack: pods[k].stack, clock: w.clock, rng: w.rng.fork() }),
    ]),
  ) as Lab['envs'];
  const records = new Map<string, number[]>([
    ['backend.demo.svc.cluster.local', [ip(BACKEND_VIP)]],
    ['deathstar.default.svc.cluster.local', [ip(DEATHSTAR_VIP)]],
    ['kube-dns.kube-system.svc.cluster.local', [ip(DNS_VIP)]],
    ['netexec.demo.svc.cluster.local', [ip(NETEXEC_VIP)]],
  ]);
  const queries: Lab['queries'] = [];
  const logs: Lab['logs'] = { coredns: [], backend: [], frontend: [], deathstar: [], netexec: [] };
  const hooks = (k: PodKey) => ({ log: (l: string) => void logs[k].push(l) });
  const dnsRecords = (name: string, qtype: number): { ips: number[] } | 'NXDOMAIN' => {
    queries.push({ name, qtype });
    const ips = records.get(name);
    return ips ? { ips } : 'NXDOMAIN';
  };
  const servers = [
    serverForImage('registry.k8s.io/coredns/coredns:v1.11.1', undefined, { dnsRecords }).start(
      envs.coredns,
      { ports: [{ containerPort: 53, protocol: 'UDP', name: 'dns' }, { containerPort: 53, protocol: 'TCP', name: 'dns-tcp' }] },
      hooks('coredns'),
    ),
    serverForImage('podpath/demo-backend:1.0').start(envs.backend, { ports: [{ containerPort: 8080 }] }, hooks('backend')),
    serverForImage('docker.io/cilium/starwars:v2.1').start(envs.deathstar, { ports: [{ containerPort: 80 }] }, hooks('deathstar')),
    serverForImage('registry.k8s.io/e2e-test-images/agnhost:2.52').start(
      envs.netexec,
      { args: ['netexec', '--http-port=8080', '--udp-port=8081'], ports: [{ containerPort: 8080 }, { containerPort: 8081, protocol: 'UDP' }] },
      hooks('netexec'),
    ),
  ];
  const run: Lab['run'] = async (pod, argv, opts = {}) => {
    const cmd = commandByName(argv[0]!);
    if (!cmd) throw new Error(`no command ${argv[0]}`);
    let stdout = '';
    let stderr = '';
    const ctl = new AbortController();
    const chunks = opts.stdin;
    const io: ProcessIO = {
      stdout: (c) => (stdout += typeof c === 'string' ? c : text(c)),
      stderr: (c) => (stderr += typeof c === 'string' ? c : text(c)),
      signal: ctl.signal,
      ...(opts.tty ? { tty: true } : {}),
      ...(chunks
        ? {
            stdin: (async function* () {
              for (const c of chunks) yield new TextEncoder().encode(c);
            })(),
          }
        : {}),
    };
    if (opts.signalAfterMs !== undefined) w.clock.setTimer(opts.signalAfterMs, () => ctl.abort(opts.signal ?? 'SIGINT'));
    const t0 = w.clock.now();
    const code = await drive(w.clock, cmd(envs[pod], argv, io));
    return { code, stdout, stderr, elapsedMs: w.clock.now() - t0 };
  };
  return { w, pods, envs, records, queries, logs, servers, run };
}
