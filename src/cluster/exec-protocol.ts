// The daemon's exec endpoint, shared by the daemon and the CLI: the request
// names where to run and what; the response streams NDJSON frames of output
// and ends with the exit code (as kubectl's exec streams and error channel do).

export const EXEC_PATH = '/podpath/v1/exec';
export const STATUS_PATH = '/podpath/v1/status';
export const SHUTDOWN_PATH = '/podpath/v1/shutdown';
/** GET + node name: that node's conntrack table as `cilium bpf ct list global` prints it. */
export const CT_PATH_PREFIX = '/podpath/v1/conntrack/';
/**
 * POST ?namespace=&pod=&port=: a byte stream both ways (the request body goes
 * to the pod's port, the response body comes back), as kubectl port-forward needs.
 * When the connection fails, the kubelet's text (what the real kubectl reads
 * on the port-forward error stream) comes in the trailer below, URI-encoded.
 */
export const PORTFORWARD_PATH = '/podpath/v1/portforward';
export const PORTFORWARD_ERROR_TRAILER = 'x-podpath-portforward-error';

export interface ExecRequest {
  /** `NS/POD`, `POD` (namespace default), `node/NAME` or `host/NAME`. */
  target: string;
  argv: string[];
  /** Whole stdin, base64 (when the client's stdin is not a terminal). */
  stdin?: string;
  tty?: boolean;
}

export type ExecFrame = { fd: 1 | 2; data: string } | { exit: number } | { error: string; exit: number };

export function encodeFrame(f: ExecFrame): string {
  return JSON.stringify(f) + '\n';
}

export type ExecTarget = { kind: 'pod'; namespace: string; name: string } | { kind: 'node'; name: string } | { kind: 'host'; name: string };

/** Parse an exec target; null when it is not one of the accepted forms. */
export function parseExecTarget(s: string): ExecTarget | null {
  const m = /^(?:([a-z0-9][-a-z0-9.]*)\/)?([a-z0-9][-a-z0-9.]*)$/.exec(s);
  if (!m) return null;
  const [, prefix, name] = m;
  if (prefix === 'node') return { kind: 'node', name: name! };
  if (prefix === 'host') return { kind: 'host', name: name! };
  return { kind: 'pod', namespace: prefix ?? 'default', name: name! };
}

export interface DaemonStatus {
  name: string;
  pid: number;
  clock: 'fast' | 'realtime';
  uptimeMs: number;
  nodes: { name: string; ip: string; podCIDR: string }[];
  pods: number;
}
