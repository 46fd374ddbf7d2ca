// Name resolution end to end: the glibc-like stub resolver, CoreDNS behind
// the kube-dns Service (UDP through the socket LB, and TCP), nslookup and dig.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsRcode, DnsType, dnsQuery, emitDns, parseDns, type DnsMessage } from '../../src/packet/dns.js';
import { isParseFailure } from '../../src/packet/error.js';
import { CoreDnsServer, Resolver, ResolveError, connectTcp, searchCandidates, type ResolveResult } from '../../src/apps/index.js';
import { concatBytes } from '../../src/apps/proc.js';
import { drive } from '../../src/util/drive.js';
import { ip } from '../helpers/world.js';
import { BACKEND_VIP, DNS_VIP, makeLab } from './harness.js';

test('search candidates follow ndots: short names try the search list first, long ones themselves first', () => {
  const resolv = { search: ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 };
  assert.deepEqual(searchCandidates('backend', resolv), ['backend.demo.svc.cluster.local', 'backend.svc.cluster.local', 'backend.cluster.local', 'backend']);
  assert.deepEqual(searchCandidates('a.b.c.d.e.f', resolv)[0], 'a.b.c.d.e.f');
  assert.deepEqual(searchCandidates('backend.demo.svc.cluster.local.', resolv), ['backend.demo.svc.cluster.local']);
});

test('the resolver answers from CoreDNS through the kube-dns Service; literals and /etc/hosts need no query', async () => {
  const lab = makeLab();
  const resolver = new Resolver(lab.envs.frontend);
  const found = await drive(lab.w.clock, resolver.lookup('backend'));
  assert.deepEqual(found, { query: 'backend', name: 'backend.demo.svc.cluster.local', addresses: [ip(BACKEND_VIP)], source: 'dns', server: ip(DNS_VIP) } satisfies ResolveResult);
  const fqdn = await drive(lab.w.clock, resolver.lookup('backend.demo.svc.cluster.local.'));
  assert.equal(fqdn.name, 'backend.demo.svc.cluster.local');
  assert.equal(lab.queries.length, 2, 'a trailing dot asks the name itself only');
  assert.equal((await drive(lab.w.clock, resolver.lookup('10.0.2.100'))).source, 'literal');
  const self = await drive(lab.w.clock, resolver.lookup(lab.envs.frontend.hostname));
  assert.deepEqual(self.addresses, [lab.pods.frontend.ip]);
  assert.equal(lab.queries.length, 2);
});

test('NXDOMAIN and timeout are different failures; a dead nameserver costs 5 s × 2 attempts per name', async () => {
  const lab = makeLab();
  const nx = await drive(lab.w.clock, new Resolver(lab.envs.frontend).lookup('nosuch').catch((e: unknown) => e));
  assert.ok(nx instanceof ResolveError);
  assert.equal(nx.kind, 'NXDOMAIN');
  assert.equal(nx.notFound, true);

  const env = { ...lab.envs.frontend, resolv: { ...lab.envs.frontend.resolv, nameservers: [ip('10.9.9.9')] } };
  const t0 = lab.w.clock.now();
  const to = await drive(lab.w.clock, new Resolver(env).lookup('backend').catch((e: unknown) => e));
  assert.ok(to instanceof ResolveError);
  assert.equal(to.kind, 'TIMEOUT');
  assert.equal(to.notFound, false);
  // glibc stops searching after a timeout but still tries the name as given: 2 names × 2 tries × 5 s.
  assert.equal(lab.w.clock.now() - t0, 20_000);
});

test('CoreDNS answers authoritatively with TTL 30, NXDOMAIN with the zone SOA, and always knows kubernetes.default', () => {
  const dns = new CoreDnsServer((name) => (name === 'backend.demo.svc.cluster.local' ? { ips: [ip(BACKEND_VIP)] } : 'NXDOMAIN'));
  const a = dns.answer(dnsQuery(1, 'Backend.Demo.svc.cluster.local', DnsType.A));
  assert.equal(a.rcode, DnsRcode.NOERROR);
  assert.equal(a.aa, true);
  assert.equal(a.ra, true);
  assert.deepEqual(a.answers, [{ name: 'Backend.Demo.svc.cluster.local', type: DnsType.A, class: 1, ttl: 30, data: ip(BACKEND_VIP) }]);
  const nodata = dns.answer(dnsQuery(2, 'backend.demo.svc.cluster.local', DnsType.AAAA));
  assert.equal(nodata.rcode, DnsRcode.NOERROR);
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authority[0]?.type, DnsType.SOA);
  const nx = dns.answer(dnsQuery(3, 'nosuch.demo.svc.cluster.local'));
  assert.equal(nx.rcode, DnsRcode.NXDOMAIN);
  assert.equal(nx.authority[0]?.name, 'cluster.local');
  const k8s = dns.answer(dnsQuery(4, 'kubernetes.default.svc.cluster.local'));
  assert.deepEqual(k8s.answers.map((r) => r.data), [ip('10.96.0.1')]);
});

test('CoreDNS serves DNS over TCP too (two-byte length prefix), through the Service', async () => {
  const lab = makeLab();
  const work = (async (): Promise<DnsMessage> => {
    const stream = await connectTcp(lab.pods.frontend.stack, ip(DNS_VIP), 53);
    const q = emitDns(dnsQuery(77, 'backend.demo.svc.cluster.local'));
    stream.write(concatBytes([new Uint8Array([q.length >> 8, q.length & 0xff]), q]));
    let buf: Uint8Array = new Uint8Array(0);
    for (;;) {
      const chunk = await stream.read();
      if (chunk === null) throw new Error('closed early');
      buf = concatBytes([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + ((buf[0]! << 8) | buf[1]!)) break;
    }
    stream.close();
    const m = parseDns(buf, 2);
    if (isParseFailure(m)) throw new Error(m.detail);
    return m;
  })();
  const m = await drive(lab.w.clock, work);
  assert.equal(m.id, 77);
  assert.deepEqual(m.answers.map((r) => r.data), [ip(BACKEND_VIP)]);
});

test('nslookup of a full name prints busybox\'s format and exits 0', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['nslookup', 'backend.demo.svc.cluster.local']);
  assert.equal(r.code, 0);
  // The A answer, then the (empty) AAAA answer's blank line.
  assert.equal(r.stdout, `Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tbackend.demo.svc.cluster.local\nAddress: ${BACKEND_VIP}\n\n\n`);
  assert.deepEqual(lab.queries.map((q) => q.qtype), [DnsType.A, DnsType.AAAA]);
});

test('nslookup NXDOMAIN: "** server can\'t find", exit 1; a short name also reports the other search domains', async () => {
  const lab = makeLab();
  const nx = await lab.run('frontend', ['nslookup', 'nosuch.demo.svc.cluster.local']);
  assert.equal(nx.code, 1);
  assert.ok(nx.stdout.includes("** server can't find nosuch.demo.svc.cluster.local: NXDOMAIN\n"));
  const short = await lab.run('frontend', ['nslookup', 'backend']);
  assert.equal(short.code, 1, 'busybox exits 1 because backend.svc.cluster.local does not exist');
  assert.ok(short.stdout.includes(`Name:\tbackend.demo.svc.cluster.local\nAddress: ${BACKEND_VIP}\n`));
  assert.ok(short.stdout.includes("** server can't find backend.svc.cluster.local: NXDOMAIN\n"));
  const dead = await lab.run('frontend', ['nslookup', 'backend.demo.svc.cluster.local', '10.9.9.9']);
  assert.equal(dead.code, 1);
  assert.equal(dead.stdout, ';; connection timed out; no servers could be reached\n\n');
  assert.equal(dead.elapsedMs, 5000);
});

test('dig prints BIND\'s sections; +short only the data; NXDOMAIN is status, not an error; no server is exit 9', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['dig', 'backend.demo.svc.cluster.local']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\n; <<>> DiG 9\.18\.24 <<>> backend\.demo\.svc\.cluster\.local\n;; global options: \+cmd\n;; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+\n;; flags: qr aa rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n/);
  assert.ok(r.stdout.includes(';; QUESTION SECTION:\n;backend.demo.svc.cluster.local. IN\tA\n'));
  assert.ok(r.stdout.includes(`;; ANSWER SECTION:\nbackend.demo.svc.cluster.local. 30 IN\tA\t${BACKEND_VIP}\n`));
  assert.ok(r.stdout.includes(';; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)\n'));
  const short = await lab.run('frontend', ['dig', '+short', 'backend.demo.svc.cluster.local']);
  assert.equal(short.stdout, `${BACKEND_VIP}\n`);
  const noSearch = await lab.run('frontend', ['dig', '+short', 'backend']);
  assert.equal(noSearch.stdout, '', 'dig does not use the search list unless +search');
  const search = await lab.run('frontend', ['dig', '+short', '+search', 'backend']);
  assert.equal(search.stdout, `${BACKEND_VIP}\n`);
  const nx = await lab.run('frontend', ['dig', 'nosuch.demo.svc.cluster.local']);
  assert.equal(nx.code, 0);
  assert.ok(nx.stdout.includes('status: NXDOMAIN'));
  assert.ok(nx.stdout.includes(';; AUTHORITY SECTION:\ncluster.local.\t\t30\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. '));
  const gone = await lab.run('frontend', ['dig', '@10.9.9.9', '+time=1', '+tries=2', 'backend.demo.svc.cluster.local']);
  assert.equal(gone.code, 9);
  assert.ok(gone.stdout.startsWith(';; communications error to 10.9.9.9#53: timed out\n;; communications error to 10.9.9.9#53: timed out\n'));
  assert.ok(gone.stdout.includes(';; no servers could be reached\n'));
  assert.equal(gone.elapsedMs, 2000);
});
