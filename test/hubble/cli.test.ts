// `hubble` the command: Hubble's error messages and exit codes for bad
// flags, --print-raw-filters, --input-file, status/list formats, and the
// daemon's /podpath/v1/hubble routes (NDJSON flows, follow, metrics) as the
// `podpath hubble` client uses them over a unix socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonHubbleBackend, formatGoDuration, parseGoDuration, parseTimeArg, runHubble } from '../../src/cli/hubble.js';
import { serveHubble, HUBBLE_ROUTE_PREFIX, type HubbleService } from '../../src/hubble/http.js';
import { EventRing } from '../../src/bpf/ringbuf.js';
import { NodeObserver } from '../../src/hubble/observer.js';
import { FlowParser, type Enricher } from '../../src/hubble/parser.js';
import { Relay, type HubbleBackend, type ObserverSet } from '../../src/hubble/relay.js';
import { flowFromJson, timeFromMillis, type Flow } from '../../src/hubble/flow.js';
import { HubbleMetrics } from '../../src/hubble/metrics.js';
import { Rng } from '../../src/util/rng.js';
import { DROP_POLICY_DENIED, FORWARDED_SYN, L7_HTTP_RESPONSE, POLICY_VERDICT_DENIED } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1);

function stubEnricher(node: string): Enricher {
  const none = (): undefined => undefined;
  return { nodeName: node, nodeLabels: () => [], localEndpoint: none, ipInfo: none, identityLabels: none, workloads: none, serviceByAddr: none, dnsNames: none, podByCgroup: none, ifName: none };
}

/** Two observers holding the reference fixtures, a relay over them, and a way to publish a live flow. */
function setup(): { set: ObserverSet; relay: Relay; publish(f: Flow): void } {
  const mkObs = (node: string): NodeObserver =>
    new NodeObserver({ node, events: new EventRing(4096), parser: new FlowParser({ enricher: stubEnricher(node), rng: new Rng(1), wallOffsetMs: () => T0 }), monoNow: () => 5000, wallNow: () => T0 });
  const a = mkObs('kind-worker');
  const b = mkObs('kind-worker2');
  for (const l of [FORWARDED_SYN, POLICY_VERDICT_DENIED, DROP_POLICY_DENIED, L7_HTTP_RESPONSE]) a.ingest(flowFromJson(JSON.parse(l) as Record<string, unknown>));
  b.ingest({ ...flowFromJson(JSON.parse(FORWARDED_SYN) as Record<string, unknown>), node_name: 'kind-worker2', uuid: 'b-1' });
  const listeners = new Set<(f: readonly Flow[]) => void>();
  const set: ObserverSet = { observers: [a, b], drainAll: () => {}, subscribe: (_n, cb) => (listeners.add(cb), () => listeners.delete(cb)) };
  return {
    set,
    relay: new Relay(set, { address: 'localhost:4245' }),
    publish: (f) => {
      a.ingest(f);
      for (const l of listeners) l([f]);
    },
  };
}

async function hubble(args: string[], backend: HubbleBackend, extra: { signal?: AbortSignal; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runHubble(args, {
    backend: () => backend,
    io: { stdout: (s) => (stdout += String(s)), stderr: (s) => (stderr += String(s)), signal: extra.signal ?? new AbortController().signal },
    now: () => Date.UTC(2025, 11, 12, 11, 0, 0),
    ...(extra.env ? { env: extra.env } : {}),
  });
  return { code, stdout, stderr };
}

test('bad flags: Hubble/pflag wording on stderr, exit code 1, nothing on stdout', async () => {
  const { relay } = setup();
  const cases: [string[], string][] = [
    [['observe', '--verdict', 'dropped'], 'Error: invalid argument "dropped" for "--verdict" flag: invalid --verdict value: dropped\n'],
    [['observe', '--not'], 'Error: trailing --not found in the arguments\n'],
    [['observe', '--not', '--not', '--pod', 'x'], 'Error: consecutive --not statements\n'],
    [['observe', '--pod', 'x', '--ip', '1.1.1.1'], 'Error: invalid argument "1.1.1.1" for "--ip" flag: filters --ip and --pod cannot be combined\n'],
    [['observe', '-n', 'demo', '--from-pod', 'x'], 'Error: invalid argument "x" for "--from-pod" flag: filters --from-pod and --namespace cannot be combined\n'],
    [['observe', '--first', '2', '--last', '3'], 'Error: cannot set both --first and --last\n'],
    [['observe', '--first', '2', '--follow'], 'Error: cannot set both --first and --follow\n'],
    [['observe', '--last', '2', '--all'], 'Error: cannot set both --last and --all\n'],
    [['observe', '-o', 'table', '--follow'], 'Error: table output format is not compatible with follow mode\n'],
    [['observe', '--bogus'], 'Error: unknown flag: --bogus\n'],
    [['observe', '-z'], "Error: unknown shorthand flag: 'z' in -z\n"],
    [['observe', '--pod'], 'Error: flag needs an argument: --pod\n'],
    [['observe', '--last', 'many'], 'Error: invalid argument "many" for "--last" flag: strconv.ParseUint: parsing "many": invalid syntax\n'],
    [['observe', '--protocol', 'quic'], 'Error: invalid argument "quic" for "--protocol" flag: unknown protocol: quic\n'],
    [['observe', '-t', 'sock'], `Error: invalid argument "sock" for "-t, --type" flag: unable to parse type 'sock', not a known type name and unable to parse as numeric value: strconv.ParseUint: parsing "sock": invalid syntax\n`],
    [['observe', '--since', 'yesterday'], 'Error: failed to parse the since time: "yesterday" is neither a duration nor a supported time format\n'],
    [['frobnicate'], 'Error: unknown command "frobnicate" for "hubble"\nRun \'hubble --help\' for usage.\n'],
  ];
  for (const [args, err] of cases) {
    const r = await hubble(args, relay);
    assert.equal(r.stderr, err, args.join(' '));
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test('observe through the relay: default 20, --last per node, --since with --last, -o json, --print-raw-filters, --input-file', async () => {
  const { relay } = setup();
  const all = await hubble(['observe'], relay);
  assert.equal(all.code, 0);
  assert.equal(all.stdout.split('\n').filter(Boolean).length, 5);
  const last1 = await hubble(['observe', '--last', '1', '--print-node-name'], relay);
  assert.deepEqual(
    last1.stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 40)),
    ['Dec 12 10:30:45.123 [kind-worker2]: demo', 'Dec 12 10:32:10.118 [kind-worker]: demo/'],
  );
  const since = await hubble(['observe', '--since', '2025-12-12T10:31:00Z', '--last', '1'], relay);
  assert.match(since.stdout, /^Dec 12 10:31:02\.202: .* policy-verdict:none INGRESS DENIED \(TCP Flags: SYN\)\n$/, '--since X --last 1: the first flow after X');
  const until = await hubble(['observe', '--since', '2h', '--until', '2025-12-12T10:31:00Z'], relay);
  assert.equal(until.stdout.split('\n').filter(Boolean).length, 2, 'relative --since, absolute --until');
  const json = await hubble(['observe', '--from-pod', 'demo/front', '--verdict', 'DROPPED', '-o', 'json'], relay);
  assert.deepEqual(json.stdout.split('\n').filter(Boolean), [POLICY_VERDICT_DENIED, DROP_POLICY_DENIED]);
  const raw = await hubble(['observe', '--pod', 'a', '--not', '--verdict', 'DROPPED', '--print-raw-filters'], relay);
  assert.equal(raw.stdout, `allowlist:\n    - '{"source_pod":["a"]}'\n    - '{"destination_pod":["a"]}'\ndenylist:\n    - '{"verdict":["DROPPED"]}'\n`);
  const allow = await hubble(['observe', '--allowlist', '{"destination_pod":["demo/db"],"verdict":["DROPPED"]}', '-o', 'jsonpb'], relay);
  assert.deepEqual(allow.stdout.split('\n').filter(Boolean), [POLICY_VERDICT_DENIED, DROP_POLICY_DENIED]);

  const dir = mkdtempSync(join(tmpdir(), 'hubble-cli-'));
  const file = join(dir, 'flows.json');
  writeFileSync(file, [FORWARDED_SYN, POLICY_VERDICT_DENIED, DROP_POLICY_DENIED, L7_HTTP_RESPONSE].join('\n') + '\n');
  const fromFile = await hubble(['observe', '--input-file', file, '--type', 'l7', '-o', 'dict'], relay);
  assert.match(fromFile.stdout, /^ {2}TIMESTAMP: Dec 12 10:32:10\.118\n {5}SOURCE: demo\/backend-5f6c7d8b9-qwz7l:8080\n/);
  const masked = await hubble(['observe', '--last', '1', '--to-pod', 'demo/db', '-o', 'json', '--field-mask', 'verdict,source.pod_name,l4.TCP.destination_port'], relay);
  assert.equal(masked.stdout, '{"flow":{"verdict":"DROPPED","l4":{"TCP":{"destination_port":5432}},"source":{"pod_name":"frontend-7d9c8b6f4-x2k9p"}},"node_name":"kind-worker","time":"2025-12-12T10:31:02.202450754Z"}\n');
  assert.match((await hubble(['observe', '--field-mask', 'verdict'], relay)).stderr, /field-mask is only supported with JSON output/);
  const legacy = await hubble(['observe', '--last', '1', '--to-pod', 'demo/db', '-o', 'json'], relay, { env: { HUBBLE_COMPAT: 'legacy-json-output' } });
  assert.ok(legacy.stdout.startsWith('{"time":"2025-12-12T10:31:02.202450754Z"'));
});

test('status and list nodes formats', async () => {
  const { relay, set } = setup();
  const st = await hubble(['status'], relay);
  assert.equal(st.stdout, 'Healthcheck (via localhost:4245): Ok\nCurrent/Max Flows: 5/8,190 (0.06%)\nFlows/s: N/A\nConnected Nodes: 2/2\n');
  const js = await hubble(['status', '-o', 'json'], relay);
  assert.equal(js.stdout, '{"num_flows":"5","max_flows":"8190","seen_flows":"5","uptime_ns":"0","num_connected_nodes":2,"num_unavailable_nodes":0,"version":"1.19.4+gpodpath"}\n');
  const dict = await hubble(['status', '-o', 'dict'], relay);
  assert.match(dict.stdout, /^ {10}NUM FLOWS: 5\n {10}MAX FLOWS: 8,190\n {9}SEEN FLOWS: 5\n {3}FLOWS PER SECOND: N\/A\n {13}UPTIME: 0s\nNUM CONNECTED NODES: 2\n NUM UNAVAIL. NODES: 0\n {12}VERSION: 1\.19\.4\+gpodpath\n$/);
  const nodes = await hubble(['list', 'nodes'], relay);
  assert.equal(nodes.stdout, 'NAME           STATUS      AGE   FLOWS/S   CURRENT/MAX-FLOWS\nkind-worker    Connected   N/A   N/A       4/4095 (  0.10%)\nkind-worker2   Connected   N/A   N/A       1/4095 (  0.02%)\n');
  const agent = await hubble(['status'], new Relay(set, { address: 'unix:///var/run/cilium/hubble.sock', node: 'kind-worker' }));
  assert.equal(agent.stdout, 'Healthcheck (via unix:///var/run/cilium/hubble.sock): Ok\nCurrent/Max Flows: 4/4,095 (0.10%)\nFlows/s: N/A\n');
  assert.equal(formatGoDuration(1_000_000), '16m40s');
  assert.equal(formatGoDuration(3 * 3600_000 + 2 * 60_000 + 1000), '3h2m1s');
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('5x'), undefined);
  assert.deepEqual(parseTimeArg('2025-12-12', 0), timeFromMillis(Date.UTC(2025, 11, 12)));
  assert.deepEqual(parseTimeArg('2025-12-12T10Z', 0), timeFromMillis(Date.UTC(2025, 11, 12, 10)));
  assert.deepEqual(parseTimeArg('2025-12-12T10:30+01:00', 0), timeFromMillis(Date.UTC(2025, 11, 12, 9, 30)));
  assert.deepEqual(parseTimeArg('Fri, 12 Dec 2025 10:30:45 +0000', 0), timeFromMillis(Date.UTC(2025, 11, 12, 10, 30, 45)));
});

test('the daemon routes: flows as NDJSON, --follow streaming until the client stops, node views, metrics text', async () => {
  const { set, relay, publish } = setup();
  const metrics = new HubbleMetrics();
  for (const l of [FORWARDED_SYN, DROP_POLICY_DENIED]) metrics.record(flowFromJson(JSON.parse(l) as Record<string, unknown>));
  const service: HubbleService = {
    backend: (node) => (node === undefined ? relay : new Relay(set, { address: 'unix:///var/run/cilium/hubble.sock', node })),
    metricsText: () => metrics.text(),
    metricsContentType: metrics.contentType,
    now: () => Date.UTC(2025, 11, 12, 11, 0, 0),
  };
  const server = createServer((req, res) => void serveHubble(req, res, service));
  const sock = join(mkdtempSync(join(tmpdir(), 'hubble-sock-')), 'd.sock');
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const remote = new DaemonHubbleBackend(sock);
    const local = await hubble(['observe', '--last', '3', '-o', 'json'], relay);
    const viaDaemon = await hubble(['observe', '--last', '3', '-o', 'json'], remote);
    assert.equal(viaDaemon.stdout, local.stdout);
    assert.equal((await hubble(['observe', '--all'], remote)).stdout.split('\n').filter(Boolean).length, 5);
    assert.equal((await hubble(['status'], remote)).stdout, (await hubble(['status'], relay)).stdout);
    const one = await hubble(['observe', '--last', '10'], new DaemonHubbleBackend(sock, 'kind-worker2'));
    assert.equal(one.stdout.split('\n').filter(Boolean).length, 1);
    assert.match((await hubble(['list', 'nodes'], new DaemonHubbleBackend(sock, 'kind-worker2'))).stderr, /not implemented/);
    let sinceOut = '';
    await runHubble(['observe', '--since', '1h', '--last', '1'], { backend: () => remote, io: { stdout: (s) => (sinceOut += String(s)), stderr: () => {}, signal: new AbortController().signal } });
    assert.match(sinceOut, /^Dec 12 10:30:45\.123: .* to-endpoint FORWARDED/, 'relative times use the daemon clock (11:00 there)');

    // Follow: the historical part, then a flow published after the request started.
    const ctl = new AbortController();
    let out = '';
    const gotLive = new Promise<void>((resolve) => {
      const follow = runHubble(['observe', '-f', '--to-pod', 'demo/live'], {
        backend: () => remote,
        io: {
          stdout: (s) => {
            out += String(s);
            if (out.includes('live-pod')) resolve();
          },
          stderr: () => {},
          signal: ctl.signal,
        },
      });
      void follow;
    });
    await new Promise((r) => setTimeout(r, 50));
    const live = { ...flowFromJson(JSON.parse(FORWARDED_SYN) as Record<string, unknown>), uuid: 'live', destination: { namespace: 'demo', pod_name: 'live-pod', identity: 7 } };
    publish(live);
    await gotLive;
    assert.match(out, /-> demo\/live-pod:8080 \(kube-apiserver\) to-endpoint FORWARDED \(TCP Flags: SYN\)\n$/);
    ctl.abort();

    const res = await fetchText(sock, `${HUBBLE_ROUTE_PREFIX}metrics`);
    assert.match(res, /^hubble_drop_total\{protocol="TCP",reason="POLICY_DENIED"\} 1$/m);
    assert.match(res, /^hubble_flows_processed_total\{protocol="TCP",subtype="to-endpoint",type="Trace",verdict="FORWARDED"\} 1$/m);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

async function fetchText(socketPath: string, path: string): Promise<string> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
