// The DNS proxy through real traffic: the frontend's egress DNS is redirected
// (rules.dns), an allowed name is forwarded to CoreDNS and its answer feeds
// the FQDN cache, which (standing in for the policy engine's toFQDNs
// selector) opens the learned address on port 80, so curl reaches the
// external host; a name no rule allows is answered REFUSED by the proxy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ip } from '../helpers/world.js';
import { NetStack } from '../../src/net/stack/index.js';
import { UNDERLAY_GATEWAY_MAC } from '../../src/net/underlay.js';
import { HttpRequestParser, serializeResponse } from '../../src/packet/http.js';
import { isParseFailure } from '../../src/packet/error.js';
import { putPolicyEntry, upsertIpcache } from '../../src/datapath/map-writer.js';
import { LOCAL_IDENTITY_FLAG } from '../../src/datapath/identity.js';
import { formatMonitorLine } from '../../src/datapath/monitor.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { DnsRcode, dnsQuery, emitDns, parseDns, type DnsMessage } from '../../src/packet/dns.js';
import { drive } from '../../src/util/drive.js';
import { fqdnSelectorMatches, type FqdnUpdate } from '../../src/proxy/index.js';
import { makeProxyLab, redirectPort, l7Rules, type ProxyLab } from './harness.js';

const API_IP = '203.0.113.10';
const FQDN_IDENTITY = LOCAL_IDENTITY_FLAG + 1;

/** An HTTP server outside the cluster, on the underlay, answering every request. */
function externalHost(lab: ProxyLab, addr: string, body: string): NetStack {
  const w = lab.w;
  const a = ip(addr);
  const mac = 0x02_42_cb_00_71_0a;
  const stack: NetStack = new NetStack({ name: 'api', ip: a, mac, gatewayIp: ip('192.168.1.1'), gatewayMac: UNDERLAY_GATEWAY_MAC, mtu: 1500, clock: w.clock, rng: w.rng.fork(), transmit: (f) => w.underlay.send(f) });
  w.underlay.attach({ ip: a, mac, receive: (b, o, l) => stack.receive(b.slice(o, o + l)) });
  stack.tcpListen(80, (s) => {
    const p = new HttpRequestParser();
    s.onData = (b) => {
      const reqs = p.feed(b);
      if (isParseFailure(reqs)) return;
      for (const _ of reqs) s.write(serializeResponse({ status: 200, headers: { 'Content-Type': 'text/plain' }, body }));
    };
    s.onEnd = () => s.end();
  });
  return stack;
}

function dnsLab(): { lab: ProxyLab; learned: FqdnUpdate[] } {
  const learned: FqdnUpdate[] = [];
  let onLearn: (u: FqdnUpdate) => void = () => {};
  const lab = makeProxyLab({ onFqdnUpdate: (u) => onLearn(u) });
  lab.records.set('api.example.com', [ip(API_IP)]);
  lab.records.set('evil.example.com', [ip('198.51.100.66')]);
  externalHost(lab, API_IP, 'hello from api.example.com\n');
  const fe = lab.pods.frontend;
  // egress: DNS to kube-dns through the DNS proxy; everything else only as toFQDNs allows.
  redirectPort(fe, 'egress', 53, { peer: lab.pods.coredns.identity, proto: IpProto.UDP, parser: 'dns' });
  l7Rules(lab, 'frontend', 'egress', 53, { dns: [{ matchName: 'api.example.com' }, { matchPattern: '*.*.svc.cluster.local' }] });
  // What the agent does for `toFQDNs: [{matchName: api.example.com}]` on port 80: the learned IPs get an
  // identity in the ipcache and the selector's policy map entry allows it.
  const selector = { matchName: 'api.example.com' };
  onLearn = (u) => {
    learned.push(u);
    if (!fqdnSelectorMatches(selector, u.name)) return;
    for (const a of u.ips) upsertIpcache(fe.node.dp, { addr: a, prefixLen: 32, identity: FQDN_IDENTITY, tunnelEndpoint: 0 });
    putPolicyEntry(fe.policyMap, { identity: FQDN_IDENTITY, egress: true, proto: IpProto.TCP, port: 80 });
  };
  return { lab, learned };
}

test('toFQDNs + rules.dns: the allowed name resolves through the DNS proxy, its IP is learned, curl reaches the external host', async () => {
  const { lab, learned } = dnsLab();
  // Before any lookup, the address is not allowed: the SYN is dropped.
  const before = await lab.run('frontend', ['curl', '-s', '-m', '1', `http://${API_IP}/`]);
  assert.equal(before.code, 28);

  const r = await lab.run('frontend', ['curl', '-s', 'http://api.example.com/']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from api.example.com\n');

  // Search-list expansions were refused by the proxy and never reached CoreDNS.
  assert.deepEqual(
    lab.queries.map((q) => q.name),
    ['api.example.com'],
  );
  assert.deepEqual(
    learned.map((u) => [u.endpointId, u.name, u.ips]),
    [[lab.pods.frontend.ep.id, 'api.example.com.', [ip(API_IP)]]],
  );
  assert.deepEqual(lab.proxies[0]!.fqdn.lookup('api.example.com'), [ip(API_IP)]);
  assert.deepEqual(lab.proxies[0]!.fqdn.namesOf(ip(API_IP)), ['api.example.com']);

  const dns = lab.accessLog().filter((x) => x.DNS);
  // (The stub resolver asks again after a refusal before moving down the search list.)
  assert.deepEqual(
    [...new Set(dns.map((x) => `${x.Type} ${x.Verdict} ${x.DNS!.Query}`))],
    [
      'Request Denied api.example.com.demo.svc.cluster.local.',
      'Request Denied api.example.com.svc.cluster.local.',
      'Request Denied api.example.com.cluster.local.',
      'Request Forwarded api.example.com.',
      'Response Forwarded api.example.com.',
    ],
  );
  const answer = dns.at(-1)!;
  assert.deepEqual([answer.DNS!.IPs, answer.DNS!.RCode, answer.DNS!.QTypes, answer.DNS!.ObservationSource, answer.ObservationPoint], [[API_IP], 0, [1], 'proxy', 'Egress']);
  assert.equal(answer.SourceEndpoint.IPv4, '10.0.1.10');
  assert.equal(answer.DestinationEndpoint.ID, lab.pods.frontend.ep.id);
  const lines = lab.events().flatMap((e) => (e.type === 'access-log' ? [formatMonitorLine(e)] : []));
  assert.ok(lines.some((l) => l.startsWith('-> Response dns to ') && l.endsWith(`DNS proxy: api.example.com. A TTL: 30 Answer: '${API_IP}'`)), lines.join('\n'));
});

test('rules.dns: a name no rule allows gets REFUSED from the proxy and is never forwarded or learned', async () => {
  const { lab, learned } = dnsLab();
  const r = await lab.run('frontend', ['dig', 'evil.example.com']);
  assert.match(r.stdout, /status: REFUSED/);
  assert.deepEqual(lab.queries, []);
  assert.deepEqual(learned, []);
  const curl = await lab.run('frontend', ['curl', '-sS', 'http://evil.example.com/']);
  assert.equal(curl.code, 6);
  assert.equal(curl.stderr, 'curl: (6) Could not resolve host: evil.example.com\n');
  const denied = lab.accessLog().filter((x) => x.DNS && x.Verdict === 'Denied');
  assert.ok(denied.some((x) => x.DNS!.Query === 'evil.example.com.'), 'denied query logged');
  // Cluster names the pattern allows still resolve.
  const ok = await lab.run('frontend', ['dig', '+short', 'backend.demo.svc.cluster.local']);
  assert.equal(ok.stdout.trim(), '10.96.12.34');
});

test('DNS over TCP goes through the proxy too: allowed names answered (and learned), others REFUSED', async () => {
  const { lab, learned } = dnsLab();
  redirectPort(lab.pods.frontend, 'egress', 53, { peer: lab.pods.coredns.identity, proto: IpProto.TCP, parser: 'dns' });
  // Two queries on one connection to kube-dns (socket LB picks CoreDNS), RFC 7766 framing.
  const sock = lab.pods.frontend.stack.tcpConnect(ip('10.96.0.10'), 53);
  let buf = new Uint8Array(0);
  const answers: DnsMessage[] = [];
  const done = new Promise<void>((resolve) => {
    sock.onData = (b) => {
      const n = new Uint8Array(buf.length + b.length);
      n.set(buf);
      n.set(b, buf.length);
      buf = n;
      while (buf.length >= 2 && buf.length >= 2 + ((buf[0]! << 8) | buf[1]!)) {
        const len = (buf[0]! << 8) | buf[1]!;
        const m = parseDns(buf.subarray(2, 2 + len));
        if (!isParseFailure(m)) answers.push(m);
        buf = buf.slice(2 + len);
      }
      if (answers.length === 2) resolve();
    };
  });
  const framed = (id: number, name: string): Uint8Array => {
    const q = emitDns(dnsQuery(id, name));
    const out = new Uint8Array(q.length + 2);
    out[0] = q.length >> 8;
    out[1] = q.length & 255;
    out.set(q, 2);
    return out;
  };
  sock.onConnect = () => {
    sock.write(framed(1, 'api.example.com'));
    sock.write(framed(2, 'evil.example.com'));
  };
  await drive(lab.w.clock, done);
  sock.end();
  assert.deepEqual(
    answers.map((a) => [a.id, a.rcode, a.answers.map((x) => x.data)]),
    [
      [1, DnsRcode.NOERROR, [ip(API_IP)]],
      [2, DnsRcode.REFUSED, []],
    ],
  );
  assert.deepEqual(
    learned.map((u) => u.name),
    ['api.example.com.'],
  );
  assert.deepEqual(
    lab.queries.map((q) => q.name),
    ['api.example.com'],
  );
  const tcp = lab.accessLog().filter((r) => r.DNS && r.TransportProtocol === IpProto.TCP);
  assert.deepEqual(
    tcp.map((r) => `${r.Type} ${r.Verdict} ${r.DNS!.Query}`),
    ['Request Forwarded api.example.com.', 'Request Denied evil.example.com.', 'Response Forwarded api.example.com.'],
  );
});
