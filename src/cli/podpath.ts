// `podpath`: the user's entry point. Until the cluster daemon lands, its main
// job is the packet-flow demo: a frontend pod on one node connects to a
// service whose backend is on another, through the real programs and maps.

import { Command, CommanderError } from 'commander';
import { runDemo } from './demo.js';

const program = new Command();
program.name('podpath').description('A Cilium + Hubble cluster on one machine: real packets through Cilium\'s programs and maps.').version('0.1.0');
program.exitOverride();

program
  .command('demo')
  .description('run the packet-flow demo: frontend → backend service across two nodes, then print what the datapath saw')
  .option('--no-color', 'plain output')
  .action(() => {
    process.stdout.write(runDemo());
  });

try {
  program.parse(process.argv);
  if (process.argv.length <= 2) program.outputHelp();
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  console.error(`podpath: ${(err as Error).message}`);
  process.exit(1);
}
