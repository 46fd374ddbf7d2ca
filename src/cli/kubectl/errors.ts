// kubectl's error texts: how a Status from the server, a usage mistake or a
// local failure is printed (cmdutil.CheckErr), and with which exit code.

import type { Status } from '../../k8s/status.js';

/**
 * An error kubectl prints and exits on. `message` is printed as is (it already
 * carries its `error: ` prefix when kubectl's has one).
 */
export class KubectlError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A plain `error: ...` failure. */
export function usageError(message: string): KubectlError {
  return new KubectlError(message.startsWith('error: ') ? message : `error: ${message}`);
}

/** A Status as one line of StandardErrorMessage: `Error from server (NotFound): pods "x" not found`. */
export function statusLine(status: Status): string {
  if (status.code === 0 && !status.reason) return status.message ?? 'Unable to connect to the server';
  if (status.reason === 'Unauthorized') return `error: You must be logged in to the server (${status.message ?? 'Unauthorized'})`;
  const message = status.message ?? '';
  return status.reason ? `Error from server (${status.reason}): ${message}` : `Error from server: ${message}`;
}

/**
 * A single failed request as CheckErr prints it: Invalid errors list their
 * field causes (`The Pod "x" is invalid: ...`), others are one line.
 */
export function statusMessage(status: Status): string {
  if (status.reason === 'Invalid' && status.details) {
    const d = status.details;
    const head = d.kind || d.name ? `The ${d.kind ?? ''} ${JSON.stringify(d.name ?? '')} is invalid` : 'The request is invalid';
    const seen = new Set<string>();
    const causes: string[] = [];
    for (const c of d.causes ?? []) {
      const line = `${c.field ?? ''}: ${c.message}`;
      if (seen.has(line)) continue;
      seen.add(line);
      causes.push(line);
    }
    if (causes.length === 0) return head;
    if (causes.length === 1) return `${head}: ${causes[0]}`;
    return `${head}: \n${causes.map((c) => `* ${c}`).join('\n')}`;
  }
  return statusLine(status);
}

export function statusError(status: Status): KubectlError {
  return new KubectlError(statusMessage(status));
}

/** The Status with `error when <verb> "<source>": ` in front of its message (cmdutil.AddSourceToErr). */
export function withSource(status: Status, verb: string, source: string): Status {
  if (!source) return status;
  return { ...status, message: `error when ${verb} ${JSON.stringify(source)}: ${status.message ?? ''}` };
}

/** Several failures of one command, one per line (cmdutil.MultipleErrors); one alone prints as CheckErr would. */
export function aggregate(errors: (Status | KubectlError)[]): KubectlError | undefined {
  if (errors.length === 0) return undefined;
  if (errors.length === 1) {
    const only = errors[0]!;
    return only instanceof KubectlError ? only : statusError(only);
  }
  const lines = errors.map((e) => (e instanceof KubectlError ? e.message : statusLine(e)));
  return new KubectlError(lines.join('\n'));
}

/**
 * klog's error line: `E1126 14:38:44.078423   23561 run.go:72] "command failed" err="..."`
 * (kubectl prints this one for a failed required flag of scale and run).
 */
export function klogError(message: string, where = 'run.go:72', headline = 'command failed'): string {
  const now = new Date();
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${pad(now.getMonth() + 1)}${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds() * 1000, 6)}`;
  return `E${stamp} ${String(process.pid).padStart(7)} ${where}] ${JSON.stringify(headline)} err=${JSON.stringify(message)}\n`;
}
