// The lab runner's commands "in a separate terminal" (port-forward): judged at
// the lab's end, still serving is a success, having exited is judged by its
// exit status, and its output is its own (not mixed into the next command's).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runLabCommands } from '../../src/lab/runner.js';
import { judge } from '../../src/lab/check.js';
import type { LabCommand } from '../../src/lab/markdown.js';

const cmd = (text: string, line: number): LabCommand => ({ block: 0, heading: 'Step 1', text, line });

test('a port-forward that fails is reported as failed, with its own output; one still serving passes; a busy local port is not the cluster\'s fault', { skip: existsSync('/bin/bash') ? false : 'bash is not installed' }, async () => {
  // Stand-ins for `kubectl port-forward`: modeOf() goes by the words in the command.
  const cmds = [
    cmd(`sh -c 'echo "error: error upgrading connection" >&2; exit 1' port-forward`, 1),
    cmd(`sh -c 'echo Forwarding from 127.0.0.1:12000; exec sleep 30' port-forward`, 2),
    cmd(`sh -c 'echo "unable to create listener: Error listen tcp4 127.0.0.1:12000: bind: address already in use" >&2; exit 1' port-forward`, 3),
    // Time for the commands above to start (and the failing ones to end) before the lab's end judges them.
    cmd('sleep 1; echo next', 4),
  ];
  const runs = await runLabCommands(cmds, { cwd: process.cwd(), env: process.env });
  assert.deepEqual(
    runs.map((r) => [r.mode, r.rc, r.output.trim()]),
    [
      ['separate-terminal', 1, 'error: error upgrading connection'],
      ['separate-terminal', 0, 'Forwarding from 127.0.0.1:12000'],
      ['separate-terminal', 1, 'unable to create listener: Error listen tcp4 127.0.0.1:12000: bind: address already in use'],
      ['normal', 0, 'next'],
    ],
  );
  assert.deepEqual(
    judge('none', runs).map((v) => v.problems),
    [['exit status 1, expected 0'], [], [], []],
  );
});
