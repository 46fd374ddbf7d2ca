// Output layouts against the reference: the §1.7 JSON lines round-trip byte
// for byte, and compact / table / dict print the reference's lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowFromJson, flowResponseJson, flowToJson, formatTimestamp, Verdict, type Flow } from '../../src/hubble/flow.js';
import { goJsonString } from '../../src/util/go-json.js';
import { compactLine, FlowPrinter, formatTime } from '../../src/hubble/printer.js';
import { DROP_POLICY_DENIED, FORWARDED_SYN, L7_HTTP_RESPONSE, POLICY_VERDICT_DENIED } from './fixtures.js';

const parse = (line: string): Flow => flowFromJson(JSON.parse(line) as Record<string, unknown>);

test('the reference JSON lines round-trip byte for byte (key order, omitted zeros, uint64 strings, envelope)', () => {
  for (const line of [FORWARDED_SYN, POLICY_VERDICT_DENIED, DROP_POLICY_DENIED, L7_HTTP_RESPONSE]) assert.equal(flowResponseJson(parse(line)), line);
});

test('compact lines of the reference fixtures: arrows, reply swap, identities, policy verdict and drop texts', () => {
  const syn = parse(FORWARDED_SYN);
  assert.equal(compactLine(syn), 'Dec 12 10:30:45.123: demo/frontend-7d9c8b6f4-x2k9p:43210 (ID:12345) -> demo/backend-5f6c7d8b9-qwz7l:8080 (ID:23456) to-endpoint FORWARDED (TCP Flags: SYN)\n');
  // The SYN-ACK: addresses and endpoints swapped, reply — printed with the initiator still on the left.
  const synAck: Flow = {
    ...syn,
    IP: { source: '10.244.1.57', destination: '10.244.1.23', ipVersion: 1 },
    l4: { TCP: { source_port: 8080, destination_port: 43210, flags: { SYN: true, ACK: true } } },
    source: syn.destination!,
    destination: syn.source!,
    reply: true,
    is_reply: true,
    trace_reason: 3,
    traffic_direction: 2,
    Summary: 'TCP Flags: SYN, ACK',
  };
  assert.equal(compactLine(synAck), 'Dec 12 10:30:45.123: demo/frontend-7d9c8b6f4-x2k9p:43210 (ID:12345) <- demo/backend-5f6c7d8b9-qwz7l:8080 (ID:23456) to-endpoint FORWARDED (TCP Flags: SYN, ACK)\n');
  assert.equal(compactLine(parse(POLICY_VERDICT_DENIED)), 'Dec 12 10:31:02.202: demo/frontend-7d9c8b6f4-x2k9p:51884 (ID:12345) <> demo/db-0:5432 (ID:34567) policy-verdict:none INGRESS DENIED (TCP Flags: SYN)\n');
  assert.equal(compactLine(parse(DROP_POLICY_DENIED)), 'Dec 12 10:31:02.202: demo/frontend-7d9c8b6f4-x2k9p:51884 (ID:12345) <> demo/db-0:5432 (ID:34567) Policy denied DROPPED (TCP Flags: SYN)\n');
  assert.equal(
    compactLine(parse(L7_HTTP_RESPONSE)),
    'Dec 12 10:32:10.118: demo/frontend-7d9c8b6f4-x2k9p:43822 (ID:12345) <- demo/backend-5f6c7d8b9-qwz7l:8080 (ID:23456) http-response FORWARDED (HTTP/1.1 200 5ms (GET http://backend.demo.svc.cluster.local:8080/api/items))\n',
  );
});

/** The Hubble printer tests' flow: 1.1.1.1:31793 (health) → 2.2.2.2:8080 (ID:12345), a policy drop on k8s1. */
function printerTestFlow(): Flow {
  return {
    time: { seconds: 1234, nanos: 567800000 },
    uuid: '',
    verdict: Verdict.DROPPED,
    drop_reason: 133,
    IP: { source: '1.1.1.1', destination: '2.2.2.2', ipVersion: 1 },
    l4: { TCP: { source_port: 31793, destination_port: 8080, flags: { SYN: true } } },
    source: { identity: 4 },
    destination: { identity: 12345 },
    Type: 1,
    node_name: 'k8s1',
    event_type: { type: 1, sub_type: 133 },
    Summary: 'TCP Flags: SYN',
  };
}

test('compact with --print-node-name, reply swap and policy-verdict EGRESS, as in the printer tests', () => {
  const f = printerTestFlow();
  assert.equal(compactLine(f, { printNodeName: true }), 'Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) <> 2.2.2.2:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)\n');
  assert.equal(compactLine({ ...f, is_reply: false }, { printNodeName: true }), 'Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) -> 2.2.2.2:8080 (ID:12345) Policy denied DROPPED (TCP Flags: SYN)\n');
  assert.equal(compactLine({ ...f, is_reply: true }, { printNodeName: true }), 'Jan  1 00:20:34.567 [k8s1]: 2.2.2.2:8080 (ID:12345) <- 1.1.1.1:31793 (health) Policy denied DROPPED (TCP Flags: SYN)\n');
  const pv: Flow = { ...f, event_type: { type: 5 }, traffic_direction: 2 };
  assert.equal(compactLine(pv, { printNodeName: true }), 'Jan  1 00:20:34.567 [k8s1]: 1.1.1.1:31793 (health) <> 2.2.2.2:8080 (ID:12345) policy-verdict:none EGRESS DENIED (TCP Flags: SYN)\n');
  assert.equal(compactLine({ ...f, source: {}, destination: { identity: 0 } }), 'Jan  1 00:20:34.567: 1.1.1.1:31793 (unknown) <> 2.2.2.2:8080 (unknown) Policy denied DROPPED (TCP Flags: SYN)\n');
});

test('--print-policy-names appends BY name (Kind) on verdict lines', () => {
  const f: Flow = {
    ...printerTestFlow(),
    verdict: Verdict.FORWARDED,
    drop_reason: 0,
    event_type: { type: 5 },
    traffic_direction: 1,
    policy_match_type: 2,
    is_reply: false,
    ingress_allowed_by: [{ name: 'allow-frontend', namespace: 'demo', labels: [], revision: 2, kind: 'CiliumNetworkPolicy' }],
  };
  assert.match(compactLine(f, { printPolicyNames: true }), / policy-verdict:L3-L4 INGRESS ALLOWED BY allow-frontend \(CiliumNetworkPolicy\) \(TCP Flags: SYN\)\n$/);
  assert.match(compactLine(f), / policy-verdict:L3-L4 INGRESS ALLOWED \(TCP Flags: SYN\)\n$/);
});

test('table: widest cell + 3, NODE after TIMESTAMP, no identities, no swap; dict: right-aligned keys, dashes between blocks', () => {
  let out = '';
  const table = new FlowPrinter({ output: 'table', write: (s) => (out += s) });
  table.flow(printerTestFlow());
  table.close();
  assert.equal(out, 'TIMESTAMP             SOURCE          DESTINATION    TYPE            VERDICT   SUMMARY\nJan  1 00:20:34.567   1.1.1.1:31793   2.2.2.2:8080   Policy denied   DROPPED   TCP Flags: SYN\n');
  out = '';
  const withNode = new FlowPrinter({ output: 'table', printNodeName: true, write: (s) => (out += s) });
  withNode.flow(printerTestFlow());
  withNode.close();
  assert.equal(out, 'TIMESTAMP             NODE   SOURCE          DESTINATION    TYPE            VERDICT   SUMMARY\nJan  1 00:20:34.567   k8s1   1.1.1.1:31793   2.2.2.2:8080   Policy denied   DROPPED   TCP Flags: SYN\n');
  out = '';
  const dict = new FlowPrinter({ output: 'dict', write: (s) => (out += s) });
  dict.flow(printerTestFlow());
  const l7 = parse(L7_HTTP_RESPONSE);
  dict.flow(l7);
  assert.equal(
    out,
    '  TIMESTAMP: Jan  1 00:20:34.567\n     SOURCE: 1.1.1.1:31793\nDESTINATION: 2.2.2.2:8080\n       TYPE: Policy denied\n    VERDICT: DROPPED\n    SUMMARY: TCP Flags: SYN\n------------\n' +
      '  TIMESTAMP: Dec 12 10:32:10.118\n     SOURCE: demo/backend-5f6c7d8b9-qwz7l:8080\nDESTINATION: demo/frontend-7d9c8b6f4-x2k9p:43822\n       TYPE: http-response\n    VERDICT: FORWARDED\n    SUMMARY: HTTP/1.1 200 5ms (GET http://backend.demo.svc.cluster.local:8080/api/items)\n',
  );
  out = '';
  const nodeDict = new FlowPrinter({ output: 'dict', printNodeName: true, write: (s) => (out += s) });
  nodeDict.flow(l7);
  assert.match(out, /^ {2}TIMESTAMP: Dec 12 10:32:10.118\n {7}NODE: kind-worker\n {5}SOURCE:/);
});

test('time formats are UTC Go layouts; JSON timestamps use 0/3/6/9 fraction digits; Go escapes <, > and &', () => {
  const t = { seconds: 1765535445, nanos: 123456789 };
  assert.equal(formatTime(t), 'Dec 12 10:30:45.123');
  assert.equal(formatTime(t, 'RFC3339'), '2025-12-12T10:30:45Z');
  assert.equal(formatTime(t, 'RFC3339Milli'), '2025-12-12T10:30:45.123Z');
  assert.equal(formatTime(t, 'RFC3339Micro'), '2025-12-12T10:30:45.123456Z');
  assert.equal(formatTime(t, 'RFC3339Nano'), '2025-12-12T10:30:45.123456789Z');
  assert.equal(formatTime({ seconds: t.seconds, nanos: 120000000 }, 'RFC3339Nano'), '2025-12-12T10:30:45.12Z');
  assert.equal(formatTime(t, 'YearMonthDay'), '2025-12-12');
  assert.equal(formatTime(t, 'YearMonthDayHour'), '2025-12-12T10Z');
  assert.equal(formatTime(t, 'YearMonthDayHourMinute'), '2025-12-12T10:30Z');
  assert.equal(formatTime(t, 'RFC1123Z'), 'Fri, 12 Dec 2025 10:30:45 +0000');
  assert.equal(formatTime({ seconds: 5 * 86400, nanos: 0 }), 'Jan  6 00:00:00.000');
  assert.equal(formatTimestamp({ seconds: 1234, nanos: 567800000 }), '1970-01-01T00:20:34.567800Z');
  assert.equal(formatTimestamp({ seconds: 1, nanos: 0 }), '1970-01-01T00:00:01Z');
  assert.equal(formatTimestamp({ seconds: 1692619933, nanos: 517394084 }), '2023-08-21T12:12:13.517394084Z');
  assert.equal(goJsonString('http://x/?a=1&b=<2>'), '"http://x/?a=1\\u0026b=\\u003c2\\u003e"');
  // Legacy JSON (HUBBLE_COMPAT=legacy-json-output): the bare flow.
  let out = '';
  const p = new FlowPrinter({ output: 'json', legacyJson: true, write: (s) => (out += s) });
  const f = parse(FORWARDED_SYN);
  p.flow(f);
  assert.equal(out, flowToJson(f) + '\n');
});
