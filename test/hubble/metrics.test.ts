// Hubble metrics: the reference's series and labels from hand-made flows,
// and `promtool check metrics` (Debian's prometheus package) accepting the
// exposition text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { HubbleMetrics } from '../../src/hubble/metrics.js';
import { flowFromJson, type Flow } from '../../src/hubble/flow.js';
import { DROP_POLICY_DENIED, FORWARDED_SYN, L7_HTTP_RESPONSE, POLICY_VERDICT_DENIED } from './fixtures.js';

const parse = (l: string): Flow => flowFromJson(JSON.parse(l) as Record<string, unknown>);

function sample(): HubbleMetrics {
  const m = new HubbleMetrics();
  const syn = parse(FORWARDED_SYN);
  m.record(syn);
  m.record({ ...syn, l4: { TCP: { source_port: 8080, destination_port: 43210, flags: { SYN: true, ACK: true } } }, is_reply: true, reply: true });
  m.record({ ...syn, l4: { TCP: { source_port: 43210, destination_port: 8080, flags: { ACK: true, FIN: true } } } });
  m.record(parse(POLICY_VERDICT_DENIED));
  m.record(parse(DROP_POLICY_DENIED));
  m.record({ ...parse(POLICY_VERDICT_DENIED), verdict: 1, drop_reason: 0, drop_reason_desc: 0, is_reply: false, policy_match_type: 2 });
  m.record({ ...parse(POLICY_VERDICT_DENIED), source: { identity: 1 } });
  m.record(parse(L7_HTTP_RESPONSE));
  m.record({ ...syn, l4: { ICMPv4: { type: 8 } }, Summary: 'ICMPv4 EchoRequest' });
  return m;
}

test('series and labels as the reference lists them', async () => {
  const text = await sample().text();
  const has = (line: string): void => assert.ok(text.split('\n').includes(line), `${line}\n--- in ---\n${text}`);
  has('hubble_flows_processed_total{protocol="TCP",subtype="to-endpoint",type="Trace",verdict="FORWARDED"} 3');
  has('hubble_flows_processed_total{protocol="TCP",subtype="",type="PolicyVerdict",verdict="DROPPED"} 2');
  has('hubble_flows_processed_total{protocol="HTTP",subtype="HTTP",type="L7",verdict="FORWARDED"} 1');
  has('hubble_drop_total{protocol="TCP",reason="POLICY_DENIED"} 3');
  has('hubble_tcp_flags_total{family="IPv4",flag="SYN"} 2'); // the SYN trace and the allowed policy verdict of it
  has('hubble_tcp_flags_total{family="IPv4",flag="SYN-ACK"} 1');
  has('hubble_tcp_flags_total{family="IPv4",flag="FIN"} 1');
  has('hubble_policy_verdicts_total{action="dropped",direction="ingress",match="none"} 1');
  has('hubble_policy_verdicts_total{action="forwarded",direction="ingress",match="l3-l4"} 1');
  has('hubble_port_distribution_total{port="8080",protocol="TCP"} 2');
  has('hubble_port_distribution_total{port="0",protocol="ICMPv4"} 1');
  has('hubble_http_requests_total{method="GET",protocol="HTTP/1.1",reporter="server",status="200"} 1');
  has('hubble_http_request_duration_seconds_bucket{le="0.01",method="GET",reporter="server"} 1');
  has('hubble_http_request_duration_seconds_bucket{le="0.005",method="GET",reporter="server"} 0');
  assert.ok(!text.includes('reply'), 'no stray labels');
});

const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

test('promtool check metrics accepts /metrics', { skip: promtool ? false : "promtool is not installed (Debian's prometheus package)" }, async () => {
  const text = await sample().text();
  const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout + r.stderr, '', 'no lint findings');
  assert.match(execFileSync(promtool!, ['--version'], { encoding: 'utf8' }), /promtool/);
});
