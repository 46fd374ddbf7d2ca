// The pod shell: the lab's traffic loop, and the ash features scripts use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeLab } from './harness.js';

test("the lab's traffic loop runs on the virtual clock until the session is interrupted", async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['sh', '-c', 'while true; do curl -s http://backend:8080; sleep 1; done'], { signalAfterMs: 3500 });
  assert.equal(r.code, 130);
  assert.equal(r.stdout, '{"service":"backend","status":"ok"}\n'.repeat(4));
  assert.equal(r.elapsedMs, 3500);
});

test('lists, && ||, $?, not found, command substitution, arithmetic, test, redirects, exit', async () => {
  const lab = makeLab();
  const run = async (script: string): Promise<{ code: number; stdout: string; stderr: string }> => lab.run('frontend', ['sh', '-c', script]);
  assert.equal((await run('curl -s http://nosuch || echo "failed with $?"')).stdout, 'failed with 6\n');
  const nf = await run('nosuchcmd; echo $?');
  assert.deepEqual([nf.stdout, nf.stderr], ['127\n', 'sh: nosuchcmd: not found\n']);
  assert.equal((await run('for i in 1 2; do echo "$i: $(curl -s -o /dev/null -w "%{http_code}" backend:8080/health)"; done')).stdout, '1: 200\n2: 200\n');
  assert.equal((await run('i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo $i; done')).stdout, '1\n2\n3\n');
  assert.equal((await run('if nc -z backend 8080; then echo open; else echo closed; fi')).stdout, 'open\n');
  assert.equal((await run('curl -s backend:8080 >/dev/null 2>&1 && echo quiet')).stdout, 'quiet\n');
  assert.equal((await run('echo "a  b" c | cat; X=5; echo ${X:-none} ${Y:-none} \'$X\'')).stdout, 'a  b c\n5 none $X\n');
  assert.equal((await run("printf '%s=%d\\n' a 1 b 2")).stdout, 'a=1\nb=2\n');
  assert.equal((await run('echo before; exit 3; echo after')).code, 3);
  assert.equal((await run('! false && [ -n "x" ] && [ 2 -ge 1 ]')).code, 0);
  const syntax = await run('while true; do');
  assert.deepEqual([syntax.code, syntax.stderr], [2, 'sh: syntax error: unexpected end of file\n']);
});

test('sh reading stdin runs each command once its lines have arrived; a syntax error stops it with 2', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['sh'], { stdin: ['echo one\nif true; then\n', 'echo two\n', 'fi\nX=4; echo "$((X+', '1))"\n', 'done\necho never\n'] });
  assert.equal(r.stdout, 'one\ntwo\n5\n');
  assert.match(r.stderr, /^sh: syntax error: unexpected .*done/);
  assert.equal(r.code, 2);
  const quoted = await lab.run('frontend', ['sh'], { stdin: ['echo "multi\n', 'line"; exit 6\n'] });
  assert.deepEqual([quoted.stdout, quoted.code], ['multi\nline\n', 6]);
});
