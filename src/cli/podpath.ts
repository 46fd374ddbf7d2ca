// `podpath`: the user's entry point: bring a cluster up or down, run commands
// in it, and the packet-flow demo.

import { Command, CommanderError } from 'commander';
import { runDemo } from './demo.js';
import { CliError, resolveCluster } from './daemon-client.js';
import { envLines, openShell } from './env.js';
import { checkLab, LabInterrupted } from '../lab/check.js';
import { podpathHome } from '../cluster/paths.js';
import { down, exec, showStatus, up } from './cluster-commands.js';
import { hubbleFromDaemon } from './hubble.js';
import { kubectlMain } from './kubectl/main.js';
import { traceCli, whatIfCli } from '../trace/cli.js';

const write = (s: string): void => {
  process.stdout.write(s);
};

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program.name('podpath').description("A Cilium + Hubble cluster on one machine: real packets through Cilium's programs and maps.").version('0.1.0');
  program.exitOverride();
  program.enablePositionalOptions();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('up')
    .description('start a cluster in the background and return when it is ready')
    .option('--name <name>', 'cluster name (default: $PODPATH_CLUSTER or "podpath")')
    .option('--workers <n>', 'number of worker nodes (default 3)')
    .option('--demo', "deploy the lab's demo app (namespace demo)")
    .option('--config <file>', 'cluster config (YAML)')
    .option('--clock <mode>', 'fast (skip idle time while a command waits) or realtime', 'fast')
    .action(async (o) => setExit(await up(o, write)));

  program
    .command('down')
    .description('stop a cluster (its state stays for the next `podpath up`)')
    .option('--name <name>', 'cluster name')
    .action(async (o) => setExit(await down(o, write)));

  program
    .command('status')
    .description('show the clusters and whether they run')
    .option('--name <name>', 'cluster name')
    .action(async (o) => setExit(await showStatus(o, write)));

  program
    .command('exec')
    .description('run a command in a pod (NS/POD), on a node (node/NAME) or on an external host (host/NAME)')
    .argument('<target>', 'NS/POD, node/NAME or host/NAME')
    .argument('<command...>', 'the command, after --')
    .option('--name <name>', 'cluster name')
    .passThroughOptions()
    .action(async (target: string, command: string[], o) => setExit(await exec(target, command[0] === '--' ? command.slice(1) : command, o)));

  program
    .command('env')
    .description('print the shell lines that put kubectl, cilium, cilium-dbg and hubble for the cluster on PATH: eval "$(podpath env)"')
    .option('--name <name>', 'cluster name')
    .action(async (o: { name?: string }) => {
      const paths = await resolveCluster(o.name);
      write(envLines(paths, podpathHome()));
    });

  program
    .command('shell')
    .description('open a shell with kubectl, cilium, cilium-dbg and hubble for the cluster on PATH')
    .option('--name <name>', 'cluster name')
    .action(async (o: { name?: string }) => setExit(await openShell(await resolveCluster(o.name), podpathHome())));

  const lab = program.command('lab').description('the labs shipped with podpath');
  lab
    .command('check')
    .description("run a lab's commands on a fresh demo cluster and report, step by step, whether each did what the lab expects")
    .argument('<lab>', 'lab number, e.g. 01')
    .option('--keep', 'leave the lab cluster running afterwards')
    .action(async (id: string, o: { keep?: boolean }) => {
      // Ctrl-C or a kill must not leave the lab's daemon running: abort, let checkLab take it down, then exit as a shell would.
      const ctl = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => ctl.abort(sig);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const { failed } = await checkLab(id, { ...(o.keep ? { keep: true } : {}), out: write, signal: ctl.signal });
        setExit(failed ? 1 : 0);
      } catch (err) {
        if (!(err instanceof LabInterrupted)) throw err;
        process.stderr.write(`${err.message}\n`);
        setExit(err.signal === 'SIGTERM' ? 143 : 130);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  program
    .command('hubble')
    .description("Hubble's CLI against the cluster's relay: observe, status, list nodes")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]')
    .action(async (args: string[]) => setExit(await hubbleFromDaemon(args)));

  program
    .command('kubectl')
    .description('kubectl for the cluster: the commands Cilium labs use, with kubectl\'s flags, output and errors')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]')
    // The raw arguments, `--` included: kubectl exec needs to know where the command starts.
    .action(async () => setExit(await kubectlMain(process.argv.slice(process.argv.indexOf('kubectl') + 1))));

  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  program
    .command('trace')
    .description("trace a packet through the real programs on a fork of the cluster's maps (nothing changes in the cluster)")
    .argument('<src>', 'NS/POD, a label selector ([NS/]key=value), node/NAME or host/NAME')
    .argument('<dst>', 'NS/POD, svc/NS/NAME, an IP, a DNS name, node/NAME or host/NAME')
    .option('--port <port>', "destination port (default: the Service's or the pod's first port, else 80)")
    .option('--protocol <proto>', 'tcp, udp, icmp or sctp')
    .option('--http-method <method>', 'an HTTP request for L7 rules (the proxy decides it)')
    .option('--http-path <path>', 'the request path')
    .option('--reply', 'trace the answer too')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--with <file>', 'apply these manifests in the fork only (what-if; repeatable)', collect)
    .option('--without <policy>', 'remove KIND/NS/NAME in the fork only (repeatable)', collect)
    .option('--record', 'send the traced events to Hubble as flows')
    .option('-v, --verbose', 'show the cilium monitor line of each event')
    .option('--name <name>', 'cluster name')
    .action(async (src: string, dst: string, o) => setExit(await traceCli(src, dst, o, write)));

  program
    .command('whatif')
    .description('the connectivity between pods that would change with these manifests, without touching the cluster')
    .argument('[files...]', 'manifests (YAML/JSON; - for stdin)')
    .option('--without <policy>', 'remove KIND/NS/NAME instead (repeatable)', collect)
    .option('-n, --namespace <ns>', 'only pods of this namespace (repeatable)', collect)
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--name <name>', 'cluster name')
    .action(async (files: string[], o) => setExit(await whatIfCli(files, o, write)));

  program
    .command('demo')
    .description('run the packet-flow demo in-process: frontend → backend service across two nodes')
    .action(() => write(runDemo()));

  return program;
}

// `podpath ... | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

async function main(): Promise<void> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    if (process.argv.length <= 2) {
      program.outputHelp();
      return;
    }
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      code = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    } else if (err instanceof CliError) {
      process.stderr.write(`podpath: ${err.message}\n`);
      code = err.exitCode;
    } else {
      process.stderr.write(`podpath: ${(err as Error).message}\n`);
      code = 1;
    }
  }
  process.exitCode = code;
}

await main();
