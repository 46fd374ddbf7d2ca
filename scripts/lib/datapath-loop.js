// How the callgrind scripts (datapath-instructions, -profile, -annotate) run
// the bench's loop, dist/bench/datapath-loop.js, and read their arguments.
import { resolve } from 'node:path';
import { ENGINE_V8_FLAGS } from '../../dist/src/util/engine-flags.js';

/** V8 flags that make two runs of one build execute the same instructions (see datapath-instructions.js). */
const PREDICTABLE = ['--predictable', '--hash-seed=1', '--random-seed=1'];
const LOOP = resolve('dist/bench/datapath-loop.js');

/** Callgrind's cache model: 32 KiB L1s, as this machine's CPU has, and a 4 MiB last level. */
export const CACHE_SIM = ['--cache-sim=yes', '--I1=32768,8,64', '--D1=32768,8,64', '--LL=4194304,16,64'];

/** The script's positional arguments (options start with --). */
export function positionalArgs() {
  return process.argv.slice(2).filter((a) => !a.startsWith('--'));
}

/**
 * node's command line for `rounds` rounds of the loop: repeatable (--predictable,
 * fixed seeds), with the engine's V8 flags as the daemon and `npm run bench` run
 * unless the script was given --v8-defaults, then `nodeFlags`; the script's
 * --fresh goes on to the loop (which otherwise runs the bench's warm-up first).
 */
export function loopCommand(mode, conns, rounds, nodeFlags = []) {
  const v8 = process.argv.includes('--v8-defaults') ? [] : ENGINE_V8_FLAGS;
  const loopFlags = process.argv.includes('--fresh') ? ['--fresh'] : [];
  return [process.execPath, ...PREDICTABLE, ...v8, ...nodeFlags, LOOP, String(mode), String(conns), String(rounds), ...loopFlags];
}
