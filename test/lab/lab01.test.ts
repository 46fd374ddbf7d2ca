// The lab as a person runs it: every ```bash block of labs/01-packet-flow's
// README in one real bash, with the cluster's kubectl, cilium and hubble on
// PATH, on a fresh demo cluster; each command must exit and print what the lab
// (or, where the lab is wrong about Cilium 1.17, Cilium itself) says. Then the
// same blocks again with the real kubectl (v1.32) in place of podpath's: its
// exec, get, apply and delete against podpath's apiserver.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { checkLab, type StepVerdict } from '../../src/lab/check.js';
import { findRealKubectl } from '../kubectl/harness.js';

/** The lab's own landmarks, as they appeared. */
function assertLandmarks(verdicts: StepVerdict[]): void {
  const out = (re: RegExp): boolean => verdicts.some((v) => re.test(v.run.output));
  assert.ok(out(/ FORWARDED \(/), 'forwarded flows');
  assert.ok(out(/Policy denied by denylist DROPPED/), 'the drop and its reason');
  assert.ok(out(/HTTP\/1\.1 GET http:\/\/backend:8080\/api\/users/), 'the L7 request');
  assert.ok(out(/ expires=\d+ .*Flags=0x[0-9a-f]{4} \[ [^\]]*SeenNonSyn/), 'a CT entry with its lifetime and flags');
  assert.ok(out(/^Final verdict: DENIED$/m), 'policy trace');
  assert.ok(verdicts.length >= 40);
}

const real = findRealKubectl();

test('podpath lab check 01: every command of the shipped lab behaves as the lab expects', { skip: existsSync('/bin/bash') ? false : 'bash is not installed' }, async (t) => {
  await t.test("with podpath's kubectl", async () => {
    let report = '';
    const { failed, verdicts } = await checkLab('01', { out: (s) => (report += s) });
    assert.equal(failed, 0, report);
    assertLandmarks(verdicts);
  });

  await t.test('with the real kubectl in place of podpath\'s', { skip: 'missing' in real ? real.missing : false }, async () => {
    let report = '';
    const { failed, verdicts } = await checkLab('01', { out: (s) => (report += s), kubectl: 'path' in real ? real.path : '' });
    assert.equal(failed, 0, report);
    assertLandmarks(verdicts);
    // The real kubectl's exec passes curl's timeout through as its exit code.
    const timeout = verdicts.find((v) => /curl -v --max-time 5 http:\/\/backend:8080$/.test(v.command))!;
    assert.equal(timeout.run.rc, 28);
    assert.match(timeout.run.output, /command terminated with exit code 28\n?$/);
  });
});
