import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DnsClass,
  DnsRcode,
  DnsType,
  ParseErrorCode,
  dnsQuery,
  dnsRcodeName,
  dnsRcodeText,
  dnsResponseFor,
  dnsTypeName,
  emitDns,
  isParseFailure,
  parseDns,
  type DnsMessage,
} from '../../src/packet/index.js';

const NAME = 'webpod.default.svc.cluster.local';

function bytesOfName(name: string): number[] {
  const out: number[] = [];
  for (const l of name.split('.')) out.push(l.length, ...Array.from(l, (c) => c.charCodeAt(0)));
  out.push(0);
  return out;
}

test('query encodes to the exact RFC 1035 bytes and parses back', () => {
  const q = dnsQuery(0x1a2b, NAME, DnsType.A);
  const b = emitDns(q);
  assert.deepEqual([...b], [0x1a, 0x2b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...bytesOfName(NAME), 0, 1, 0, 1]);
  const p = parseDns(b);
  assert.ok(!isParseFailure(p));
  assert.deepEqual(p, { ...q, ad: false, cd: false });
});

test('response with compression: names point back at the question', () => {
  const q = dnsQuery(7, 'www.example.com', DnsType.A);
  const resp = dnsResponseFor(q, DnsRcode.NOERROR, [
    { name: 'www.example.com', type: DnsType.CNAME, class: DnsClass.IN, ttl: 300, data: 'web.example.com' },
    { name: 'web.example.com', type: DnsType.A, class: DnsClass.IN, ttl: 30, data: 0x0a000264 },
  ]);
  const b = emitDns(resp);
  // Header 12, question name 17 + 4 = 33 → answer 1 name is a pointer to offset 12.
  assert.deepEqual([...b.subarray(33, 35)], [0xc0, 0x0c]);
  // CNAME rdata "web" + pointer to "example.com" at offset 16.
  assert.deepEqual([...b.subarray(45, 51)], [3, 0x77, 0x65, 0x62, 0xc0, 0x10]);
  // Second answer's owner name is a pointer to the CNAME target at offset 45.
  assert.deepEqual([...b.subarray(51, 53)], [0xc0, 45]);
  assert.equal(b.length, 51 + 2 + 10 + 4);
  const p = parseDns(b);
  assert.ok(!isParseFailure(p));
  assert.deepEqual(p, { ...resp, ad: false, cd: false });
});

test('every record type round trips', () => {
  const aaaa = Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const msg: DnsMessage = {
    id: 0xffff,
    qr: true,
    opcode: 0,
    aa: true,
    tc: false,
    rd: true,
    ra: true,
    ad: true,
    cd: false,
    rcode: DnsRcode.NOERROR,
    questions: [
      { name: '_http._tcp.backend.demo.svc.cluster.local', type: DnsType.SRV, class: DnsClass.IN },
      { name: '100.2.0.10.in-addr.arpa', type: DnsType.PTR, class: DnsClass.IN },
    ],
    answers: [
      { name: '_http._tcp.backend.demo.svc.cluster.local', type: DnsType.SRV, class: DnsClass.IN, ttl: 30, data: { priority: 0, weight: 100, port: 8080, target: 'backend.demo.svc.cluster.local' } },
      { name: '100.2.0.10.in-addr.arpa', type: DnsType.PTR, class: DnsClass.IN, ttl: 30, data: '10-0-2-100.backend.demo.svc.cluster.local' },
      { name: 'backend.demo.svc.cluster.local', type: DnsType.AAAA, class: DnsClass.IN, ttl: 5, data: aaaa },
      { name: 'backend.demo.svc.cluster.local', type: DnsType.TXT, class: DnsClass.IN, ttl: 5, data: ['v=1', '', 'hello world'] },
      { name: 'demo.svc.cluster.local', type: DnsType.MX, class: DnsClass.IN, ttl: 5, data: { preference: 10, exchange: 'mail.demo.svc.cluster.local' } },
    ],
    authority: [
      { name: 'cluster.local', type: DnsType.SOA, class: DnsClass.IN, ttl: 30, data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1765535445, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } },
      { name: 'cluster.local', type: DnsType.NS, class: DnsClass.IN, ttl: 30, data: 'ns.dns.cluster.local' },
    ],
    // EDNS0 OPT: root name, class = UDP size, raw data.
    additional: [{ name: '', type: DnsType.OPT, class: 1232, ttl: 0, data: Uint8Array.from([0, 10, 0, 2, 0xab, 0xcd]) }],
  };
  const b = emitDns(msg);
  const p = parseDns(b);
  assert.ok(!isParseFailure(p), JSON.stringify(p));
  assert.deepEqual(p, msg);
  // Trailing dots are accepted on emit.
  const dotted = emitDns(dnsQuery(1, 'example.com.'));
  assert.deepEqual(emitDns(dnsQuery(1, 'example.com')), dotted);
});

test('compression pointer loops and forward pointers are rejected', () => {
  const header = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  const cases: [string, number[]][] = [
    ['self loop', [...header, 0xc0, 12, 0, 1, 0, 1]],
    ['two-step loop', [...header, 1, 0x61, 0xc0, 15, 1, 0x62, 0xc0, 12, 0, 1, 0, 1]],
    ['forward pointer', [...header, 0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1]],
    ['label pointing into itself', [...header, 1, 0x61, 0xc0, 12, 0, 1, 0, 1]],
  ];
  for (const [name, bytes] of cases) {
    const r = parseDns(Uint8Array.from(bytes));
    assert.ok(isParseFailure(r), name);
    assert.equal(r.layer, 'dns');
    assert.equal(r.error, ParseErrorCode.Malformed, `${name}: ${r.detail}`);
  }
  // Extended label types (0x40, 0x80) are not supported.
  const ext = parseDns(Uint8Array.from([...header, 0x41, 0, 0, 1, 0, 1]));
  assert.ok(isParseFailure(ext) && ext.error === ParseErrorCode.Malformed);
  // A legal backwards chain: a name that is a pointer to a pointer.
  const legal = Uint8Array.from([0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 1, 0x62, 0xc0, 19, 0, 1, 0, 1]);
  const lp = parseDns(legal);
  assert.ok(!isParseFailure(lp), JSON.stringify(lp));
  assert.deepEqual(lp.questions.map((q) => q.name), ['a', 'a', 'b.a']);
});

test('every truncation is a Truncated ParseFailure for layer dns', () => {
  const resp = dnsResponseFor(dnsQuery(9, NAME), DnsRcode.NOERROR, [
    { name: NAME, type: DnsType.A, class: DnsClass.IN, ttl: 30, data: 0x0a000264 },
    { name: NAME, type: DnsType.A, class: DnsClass.IN, ttl: 30, data: 0x0a000265 },
  ]);
  const b = emitDns(resp);
  for (let len = 0; len < b.length; len++) {
    const r = parseDns(b, 0, len);
    assert.ok(isParseFailure(r), `len ${len}`);
    assert.equal(r.error, ParseErrorCode.Truncated, `len ${len}: ${r.detail}`);
    assert.equal(r.layer, 'dns');
  }
  // A record with a wrong RDLENGTH.
  const bad = b.slice();
  bad[b.length - 5] = 5;
  const r = parseDns(bad);
  assert.ok(isParseFailure(r));
});

test('NXDOMAIN, rcode names, TC when over the UDP limit', () => {
  const q = dnsQuery(3, 'nope.default.svc.cluster.local');
  const nx = dnsResponseFor(q, DnsRcode.NXDOMAIN);
  const p = parseDns(emitDns(nx));
  assert.ok(!isParseFailure(p) && p.rcode === 3 && p.qr && p.aa && p.ra);
  assert.equal(dnsRcodeName(DnsRcode.NXDOMAIN), 'NXDOMAIN');
  assert.equal(dnsRcodeName(DnsRcode.SERVFAIL), 'SERVFAIL');
  assert.equal(dnsRcodeName(DnsRcode.REFUSED), 'REFUSED');
  assert.equal(dnsRcodeText(3), 'Non-Existent Domain');
  assert.equal(dnsTypeName(DnsType.AAAA), 'AAAA');
  assert.equal(dnsTypeName(99), 'TYPE99');
  const many = dnsResponseFor(
    q,
    DnsRcode.NOERROR,
    Array.from({ length: 60 }, (_, i) => ({ name: q.questions[0].name, type: DnsType.A, class: DnsClass.IN, ttl: 30, data: 0x0a000000 + i })),
  );
  const big = emitDns(many);
  assert.ok(big.length > 512);
  const cut = emitDns(many, { maxSize: 512 });
  const cp = parseDns(cut);
  assert.ok(!isParseFailure(cp) && cp.tc && cp.answers.length === 0 && cp.questions.length === 1);
  assert.throws(() => emitDns(dnsQuery(1, `${'x'.repeat(64)}.com`)), RangeError);
});
