// What every kubectl command works with: its input and output, the global
// flags (namespace, context), the connection to the cluster, and how a
// resource argument (`po`, `deploy/frontend`, `pods,svc`, `all`) resolves.

import { resolveCluster, CliError } from '../daemon-client.js';
import { lookupResource, resourcesInCategory, type ResourceInfo } from '../../k8s/resources.js';
import { ApiConnection, type Answer } from './api.js';
import { KubectlError, statusMessage, usageError } from './errors.js';
import type { FlagSpec } from './flags.js';
import { Flags } from './flags.js';

export interface KubectlIO {
  out(text: string): void;
  err(text: string): void;
  /** All of stdin (for `-f -` and `exec -i`). */
  readStdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
  stdinIsTTY: boolean;
  /** When set, `exec` may hand the terminal to a local shell (the real process's stdio). */
  interactiveProcess?: boolean;
  /** Aborted when the user interrupts (watches and waits stop). */
  signal?: AbortSignal;
  /**
   * Set by a command that stops cleanly on Ctrl-C, as kubectl's port-forward
   * does (it exits 0): then SIGINT ends it with its own exit code, not 130.
   */
  interruptIsStop?: boolean;
}

/** kubectl's persistent flags, accepted before or after any command. */
export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'namespace', short: 'n', type: 'string' },
  { name: 'kubeconfig', type: 'string' },
  { name: 'context', type: 'string' },
  { name: 'cluster', type: 'string' },
  { name: 'user', type: 'string' },
  { name: 'server', short: 's', type: 'string' },
  { name: 'token', type: 'string' },
  { name: 'request-timeout', type: 'string' },
  { name: 'v', short: 'v', type: 'int' },
  { name: 'as', type: 'string' },
  { name: 'insecure-skip-tls-verify', type: 'bool' },
  { name: 'match-server-version', type: 'bool' },
  { name: 'warnings-as-errors', type: 'bool' },
  { name: 'cache-dir', type: 'string' },
  { name: 'certificate-authority', type: 'string' },
  { name: 'client-certificate', type: 'string' },
  { name: 'client-key', type: 'string' },
  { name: 'tls-server-name', type: 'string' },
  { name: 'username', type: 'string' },
  { name: 'password', type: 'string' },
  { name: 'disable-compression', type: 'bool' },
  { name: 'help', short: 'h', type: 'bool' },
];

/** A resource type as a command resolved it, and how kubectl names it in output. */
export interface ResolvedType {
  info: ResourceInfo;
  /** `pod`, `deployment.apps`: the prefix of `-o name` and of NAME when several types print. */
  kindName: string;
}

export function kindNameOf(info: ResourceInfo): string {
  const kind = info.kind.toLowerCase();
  return info.group ? `${kind}.${info.group}` : kind;
}

/** `pods`, `deployments.apps`: how errors and deletes name a resource. */
export function resourceNameOf(info: ResourceInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

export class KubectlContext {
  private connection: ApiConnection | undefined;

  constructor(
    readonly io: KubectlIO,
    readonly flags: Flags,
    readonly commandPath: string,
  ) {}

  /** -n, else the context's namespace: podpath's contexts use `default`. */
  get namespace(): string {
    return this.flags.string('namespace') || 'default';
  }

  get namespaceGiven(): boolean {
    return this.flags.changed('namespace');
  }

  /** The cluster this invocation talks to: --context/--cluster (podpath-NAME or NAME), $PODPATH_CLUSTER, the only running one. */
  clusterName(): string | undefined {
    const given = this.flags.string('context') || this.flags.string('cluster');
    if (!given) return undefined;
    return given.startsWith('podpath-') ? given.slice('podpath-'.length) : given;
  }

  async conn(): Promise<ApiConnection> {
    if (this.connection) return this.connection;
    let paths;
    try {
      paths = await resolveCluster(this.clusterName(), this.io.env);
    } catch (err) {
      if (err instanceof CliError) throw usageError(err.message);
      throw err;
    }
    this.connection = new ApiConnection(paths.socket, `unix://${paths.socket}`);
    return this.connection;
  }

  /** Unwrap an answer or fail with kubectl's message for its Status. */
  async must<T>(answer: Promise<Answer<T>>): Promise<T> {
    const a = await answer;
    if (!a.ok) throw new KubectlError(statusMessage(a.status));
    this.warn(a.warnings);
    return a.value;
  }

  warn(warnings: readonly string[]): void {
    for (const w of warnings) this.io.err(`Warning: ${w}\n`);
  }

  /** Resolve one type name the way kubectl's RESTMapper does, or fail as kubectl does. */
  resolveType(text: string): ResolvedType {
    const info = lookupResource(text);
    if (!info) throw usageError(`the server doesn't have a resource type ${JSON.stringify(text)}`);
    return { info, kindName: kindNameOf(info) };
  }

  /** `pods,svc`, `all`, `cilium`: types in order, categories expanded. */
  resolveTypes(text: string): ResolvedType[] {
    const out: ResolvedType[] = [];
    for (const part of text.split(',')) {
      if (part === '') continue;
      const lower = part.toLowerCase();
      const category = lookupResource(lower) ? [] : resourcesInCategory(lower);
      if (category.length) out.push(...category.map((info) => ({ info, kindName: kindNameOf(info) })));
      else out.push(this.resolveType(part));
    }
    const seen = new Set<ResourceInfo>();
    return out.filter((t) => (seen.has(t.info) ? false : (seen.add(t.info), true)));
  }
}
