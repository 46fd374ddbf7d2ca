// What a program running in a pod gets: its network namespace (the pod's
// stack), the one clock, a seeded rng, and the resolv.conf kubelet wrote.
// Client tools are AppCommands (kubectl exec); long-running containers are
// ServerApps started from the image.

import type { NetStack } from '../net/stack/index.js';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';

/** /etc/resolv.conf as the stub resolver reads it. */
export interface ResolvConf {
  nameservers: number[];
  search: string[];
  ndots: number;
  /** options timeout:N, in ms (glibc default 5 s). */
  timeoutMs?: number;
  /** options attempts:N (glibc default 2). */
  attempts?: number;
}

export interface PodEnv {
  podName: string;
  namespace: string;
  hostname: string;
  ip: number;
  stack: NetStack;
  clock: Clock;
  rng: Rng;
  resolv: ResolvConf;
}

export interface ProcessIO {
  stdout(chunk: string | Uint8Array): void;
  stderr(chunk: string | Uint8Array): void;
  stdin?: AsyncIterable<Uint8Array>;
  /**
   * Aborted when the process is signalled. The reason names the signal
   * ('SIGINT' for Ctrl-C, 'SIGTERM', 'SIGKILL'); anything else counts as SIGINT.
   */
  signal: AbortSignal;
  /** stdout is a terminal (kubectl exec -t): curl then hides its progress meter. */
  tty?: boolean;
}

/** A client tool: resolves to the exit code (a signal kill reports 128 + signo, as a shell does). */
export type AppCommand = (env: PodEnv, argv: string[], io: ProcessIO) => Promise<number>;

export interface ContainerPort {
  containerPort: number;
  protocol?: string;
  name?: string;
}

export interface ServerSpec {
  args?: string[];
  command?: string[];
  ports: ContainerPort[];
  env?: Record<string, string>;
}

/** What a container can tell its runtime: log lines (kubectl logs) and that it exited. */
export interface ServerHooks {
  log?(line: string): void;
  /** The main process exited (a panic exits 2); the kubelet decides about restarts. */
  exit?(code: number): void;
}

export interface ServerHandle {
  stop(): void;
}

export interface ServerApp {
  start(env: PodEnv, spec: ServerSpec, hooks?: ServerHooks): ServerHandle;
}

export const CLUSTER_DOMAIN = 'cluster.local';
/** The kube-dns Service address kubelet writes into every pod's resolv.conf. */
export const CLUSTER_DNS_IP = (10 << 24) | (96 << 16) | 10;

/** resolv.conf of a pod with dnsPolicy ClusterFirst in `namespace`. */
export function kubernetesResolv(namespace: string, opts: { nameserver?: number; clusterDomain?: string } = {}): ResolvConf {
  const domain = opts.clusterDomain ?? CLUSTER_DOMAIN;
  return {
    nameservers: [opts.nameserver ?? CLUSTER_DNS_IP],
    search: [`${namespace}.svc.${domain}`, `svc.${domain}`, domain],
    ndots: 5,
  };
}

/** Exit status a shell reports for a process killed by the signal named in `signal.reason`. */
export function signalExitCode(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  const name = typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : '';
  if (name === 'SIGTERM') return 143;
  if (name === 'SIGKILL') return 137;
  if (name === 'SIGHUP') return 129;
  return 130;
}

/** A PodEnv with kubelet's defaults: hostname = pod name, ClusterFirst resolv.conf for the namespace. */
export function createPodEnv(opts: {
  podName: string;
  namespace: string;
  ip: number;
  stack: NetStack;
  clock: Clock;
  rng: Rng;
  hostname?: string;
  resolv?: ResolvConf;
}): PodEnv {
  return {
    podName: opts.podName,
    namespace: opts.namespace,
    hostname: opts.hostname ?? opts.podName,
    ip: opts.ip >>> 0,
    stack: opts.stack,
    clock: opts.clock,
    rng: opts.rng,
    resolv: opts.resolv ?? kubernetesResolv(opts.namespace),
  };
}
