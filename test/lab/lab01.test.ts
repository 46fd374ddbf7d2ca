// The lab as a person runs it: every ```bash block of labs/01-packet-flow's
// README in one real bash, with the cluster's kubectl, cilium and hubble on
// PATH, on a fresh demo cluster; each command must exit and print what the lab
// (or, where the lab is wrong about Cilium 1.17, Cilium itself) says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { checkLab } from '../../src/lab/check.js';

test('podpath lab check 01: every command of the shipped lab behaves as the lab expects', { skip: existsSync('/bin/bash') ? false : 'bash is not installed' }, async () => {
  let report = '';
  const { failed, verdicts } = await checkLab('01', { out: (s) => (report += s) });
  assert.equal(failed, 0, report);
  // The lab's own landmarks, as they appeared.
  const out = (re: RegExp): boolean => verdicts.some((v) => re.test(v.run.output));
  assert.ok(out(/ FORWARDED \(/), 'forwarded flows');
  assert.ok(out(/Policy denied by denylist DROPPED/), 'the drop and its reason');
  assert.ok(out(/HTTP\/1\.1 GET http:\/\/backend:8080\/api\/users/), 'the L7 request');
  assert.ok(out(/ expires=\d+ .*Flags=0x[0-9a-f]{4} \[ [^\]]*SeenNonSyn/), 'a CT entry with its lifetime and flags');
  assert.ok(out(/^Final verdict: DENIED$/m), 'policy trace');
  assert.ok(verdicts.length >= 40);
});
