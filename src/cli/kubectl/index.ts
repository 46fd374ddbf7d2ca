// podpath's kubectl: the subset of kubectl that Cilium labs use, with
// kubectl's flags, output, messages and exit codes, talking to a podpath
// cluster's apiserver over the daemon's private socket. `runKubectl` is the
// whole program: `podpath kubectl ...` and the `kubectl` shim both call it.

import { GLOBAL_FLAGS, KubectlContext, type KubectlIO } from './context.js';
import { KubectlError } from './errors.js';
import { FlagError, Flags, parseFlags, type FlagSpec } from './flags.js';
import { COMMANDS, KUBECTL_COMMAND_NAMES, type CommandSpec } from './commands/index.js';

export type { KubectlIO } from './context.js';

/** cobra's suggestion rule: edit distance at most 2, or a prefix. */
function suggestionsFor(typed: string): string[] {
  const distance = (a: string, b: string): number => {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      }
    }
    return d[a.length]![b.length]!;
  };
  return KUBECTL_COMMAND_NAMES.filter((name) => distance(typed, name) <= 2 || name.toLowerCase().startsWith(typed.toLowerCase()));
}

/** Find the command word: the first argument that is not a global flag or a global flag's value. */
function findCommand(argv: string[]): { index: number; name: string } | undefined {
  const valueTaking = new Set<string>();
  for (const f of GLOBAL_FLAGS) {
    if (f.type === 'bool') continue;
    valueTaking.add(`--${f.name}`);
    if (f.short) valueTaking.add(`-${f.short}`);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (a.startsWith('-')) {
      if (valueTaking.has(a)) i++;
      continue;
    }
    return { index: i, name: a };
  }
  return undefined;
}

function rootHelp(): string {
  const lines = [
    "kubectl controls the Kubernetes cluster manager (podpath's kubectl: the commands Cilium labs use).",
    '',
    ' Find more information at: https://kubernetes.io/docs/reference/kubectl/',
    '',
    'Commands:',
    ...COMMANDS.filter((c) => !c.hidden).map((c) => `  ${c.name.padEnd(15)}${c.short}`),
    '',
    'Usage:',
    '  kubectl [flags] [options]',
    '',
    'Use "kubectl <command> --help" for more information about a given command.',
    '',
  ];
  return lines.join('\n');
}

function commandHelp(c: CommandSpec): string {
  return `${c.short}\n\nUsage:\n  ${c.usage}\n\nUse "kubectl options" for a list of global command-line options (applies to all commands).\n`;
}

/** Run `kubectl ARGS...`; resolves to the exit code. Never throws. */
export async function runKubectl(argv: string[], io: KubectlIO): Promise<number> {
  const found = findCommand(argv);
  try {
    if (!found) {
      const parsed = parseFlags(argv, GLOBAL_FLAGS);
      if (parsed.args.length === 0) {
        io.out(rootHelp());
        return 0;
      }
      io.out(rootHelp());
      return 0;
    }
  } catch (err) {
    if (err instanceof FlagError) {
      io.err(`error: ${err.message}\nSee 'kubectl --help' for usage.\n`);
      return 1;
    }
    throw err;
  }
  const command = COMMANDS.find((c) => c.name === found.name || c.aliases?.includes(found.name));
  if (!command) {
    if (found.name === 'help') {
      io.out(rootHelp());
      return 0;
    }
    if (KUBECTL_COMMAND_NAMES.includes(found.name)) {
      io.err(`error: podpath's kubectl does not implement "kubectl ${found.name}" (it has: ${COMMANDS.filter((c) => !c.hidden).map((c) => c.name).join(', ')})\n`);
      return 1;
    }
    const suggestions = suggestionsFor(found.name);
    let text = `error: unknown command ${JSON.stringify(found.name)} for "kubectl"`;
    if (suggestions.length) text += `\n\nDid you mean this?\n${suggestions.map((s) => `\t${s}`).join('\n')}\n`;
    io.err(text + '\n');
    return 1;
  }
  const rest = [...argv.slice(0, found.index), ...argv.slice(found.index + 1)];
  return runCommand(command, rest, io, `kubectl ${command.name}`);
}

export async function runCommand(command: CommandSpec, argv: string[], io: KubectlIO, path: string): Promise<number> {
  let flags: Flags;
  try {
    // A subcommand (rollout status, config view) gets its own flags.
    if (command.subcommands) {
      const sub = findCommand(argv);
      if (!sub) {
        // kubectl prints the help of a command group given no subcommand (to stderr, exit 1 unless asked for).
        if (argv.includes('--help') || argv.includes('-h')) {
          io.out(commandHelp(command));
          return 0;
        }
        io.err(commandHelp(command));
        return 1;
      }
      const next = command.subcommands.find((c) => c.name === sub.name || c.aliases?.includes(sub.name));
      if (!next) {
        io.err(`error: unknown command ${JSON.stringify(sub.name)}\nSee '${path} -h' for help and examples\n`);
        return 1;
      }
      return runCommand(next, [...argv.slice(0, sub.index), ...argv.slice(sub.index + 1)], io, `${path} ${next.name}`);
    }
    const specs: FlagSpec[] = [...command.flags, ...GLOBAL_FLAGS.filter((g) => !command.flags.some((f) => f.name === g.name || (g.short && f.short === g.short)))];
    flags = new Flags(parseFlags(argv, specs));
  } catch (err) {
    if (err instanceof FlagError) {
      io.err(`error: ${err.message}\nSee '${path} --help' for usage.\n`);
      return 1;
    }
    return unexpected(io, err);
  }
  if (flags.bool('help')) {
    io.out(commandHelp(command));
    return 0;
  }
  const ctx = new KubectlContext(io, flags, path);
  try {
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof KubectlError) {
      if (err.message) io.err(err.message.endsWith('\n') ? err.message : `${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof FlagError) {
      io.err(`error: ${err.message}\nSee '${path} --help' for usage.\n`);
      return 1;
    }
    return unexpected(io, err);
  }
}

/** A bug in podpath's kubectl: say so in one line, never a stack trace. */
function unexpected(io: KubectlIO, err: unknown): number {
  io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
