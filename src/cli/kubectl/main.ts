// podpath's kubectl as a process: stdio, environment, and signals (Ctrl-C
// ends `get -w`, `wait` and `rollout status`; `kill` ends an exec's shell).

import { runKubectl, type KubectlIO } from './index.js';

const SIGNAL_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export async function kubectlMain(argv: string[]): Promise<number> {
  const aborter = new AbortController();
  let signalled: number | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (sig === 'SIGINT' && io.interruptIsStop) {
      aborter.abort();
      return;
    }
    signalled = SIGNAL_CODES[sig] ?? 1;
    aborter.abort();
    // Whatever is still running gets a moment to stop, then the process ends as a signalled kubectl does.
    setTimeout(() => process.exit(signalled), 200);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `kubectl get ... | head` closes the pipe early: stop quietly, as kubectl does.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const io: KubectlIO = {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    stdinIsTTY: process.stdin.isTTY === true,
    interactiveProcess: true,
    signal: aborter.signal,
  };
  const code = await runKubectl(argv, io);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return signalled ?? code;
}
