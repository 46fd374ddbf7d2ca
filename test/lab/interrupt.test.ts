// Ctrl-C during `podpath lab check` must not leave the lab's daemon running:
// the check ends the lab's commands, takes its cluster down and exits 130.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../../src/cli/cluster-commands.js';
import { ENGINE_V8_FLAGS } from '../../src/util/engine-flags.js';

const PODPATH_BIN = join(process.cwd(), 'bin', 'podpath.js');

/** Resolves with the path of the first file called `name` written (non-empty) under dir (any depth). */
function created(dir: string, name: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir, { recursive: true }, (_event, file) => {
      const path = file ? join(dir, file) : '';
      if (file && file.endsWith(`/${name}`) && existsSync(path) && readFileSync(path, 'utf8').trim() !== '') {
        clearTimeout(timer);
        watcher.close();
        resolve(path);
      }
    });
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`no ${name} under ${dir} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`podpath lab check stopped by ${signal} takes its cluster down and exits ${signal === 'SIGINT' ? 130 : 143}`, { skip: existsSync('/bin/bash') ? false : 'bash is not installed' }, async () => {
    // A private TMPDIR: the check makes its PODPATH_HOME there, so the test can find the daemon it starts.
    const tmp = mkdtempSync(join(tmpdir(), 'podpath-lab-interrupt-'));
    try {
      const pidFile = created(tmp, 'daemon.pid', 60_000);
      const child = spawn(process.execPath, [PODPATH_BIN, 'lab', 'check', '01'], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const daemonPid = Number(readFileSync(await pidFile, 'utf8').trim());
      assert.ok(processAlive(daemonPid), 'the lab daemon runs');
      // The daemon runs the engine, so it is started with the engine's V8 flags.
      const argv = readFileSync(`/proc/${daemonPid}/cmdline`, 'utf8').split('\0');
      for (const flag of ENGINE_V8_FLAGS) assert.ok(argv.includes(flag), `daemon argv ${argv.join(' ')} has ${flag}`);
      child.kill(signal);
      const code = await exited;
      assert.equal(code, signal === 'SIGINT' ? 130 : 143, err);
      assert.match(err, new RegExp(`^lab check interrupted \\(${signal}\\); its cluster was stopped$`, 'm'));
      assert.doesNotMatch(err, /\n\s+at .*:\d+:\d+/, 'no stack trace');
      assert.ok(!processAlive(daemonPid), 'the daemon is gone');
      assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('podpath-lab-')), [], 'the lab home is removed');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
