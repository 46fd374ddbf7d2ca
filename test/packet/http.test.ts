import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HttpHeaders,
  HttpRequestParser,
  HttpResponseParser,
  ParseErrorCode,
  encodeChunked,
  httpRequestUrl,
  isParseFailure,
  serializeRequest,
  serializeResponse,
  type HttpParseFailure,
  type HttpRequest,
  type HttpResponse,
} from '../../src/packet/index.js';
import { Rng } from '../../src/util/rng.js';

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string): Uint8Array => te.encode(s);

function feedAll<M>(p: { feed(c: Uint8Array): M[] | HttpParseFailure }, chunks: Uint8Array[]): M[] {
  const out: M[] = [];
  for (const c of chunks) {
    const r = p.feed(c);
    if (isParseFailure(r)) assert.fail(`unexpected failure: ${r.detail}`);
    out.push(...r);
  }
  return out;
}

function splitRandomly(bytes: Uint8Array, rng: Rng): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + rng.below(9);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

test('curl-style GET parses; headers case-insensitive with original case kept', () => {
  const raw = b('GET /api?x=1 HTTP/1.1\r\nHost: backend:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nX-Multi: a\r\nx-multi: b\r\n\r\n');
  const [req] = feedAll(new HttpRequestParser(), [raw]);
  assert.equal(req.method, 'GET');
  assert.equal(req.target, '/api?x=1');
  assert.equal(req.version, 'HTTP/1.1');
  assert.equal(req.headers.get('HOST'), 'backend:8080');
  assert.equal(req.headers.get('user-agent'), 'curl/8.5.0');
  assert.deepEqual(req.headers.getAll('X-MULTI'), ['a', 'b']);
  assert.deepEqual(req.headers.entries().map(([n]) => n), ['Host', 'User-Agent', 'Accept', 'X-Multi', 'x-multi']);
  assert.equal(req.body.length, 0);
  assert.equal(req.keepAlive, true);
  assert.equal(httpRequestUrl(req), 'http://backend:8080/api?x=1');
});

test('pipelined requests in one chunk and split at every byte boundary', () => {
  const raw = b(
    'GET /one HTTP/1.1\r\nHost: a\r\n\r\n' +
      'POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
      'PUT /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Checksum: 42\r\n\r\n' +
      'GET /four HTTP/1.0\r\n\r\n',
  );
  const check = (reqs: HttpRequest[]): void => {
    assert.deepEqual(reqs.map((r) => r.target), ['/one', '/two', '/three', '/four']);
    assert.equal(td.decode(reqs[1].body), 'hello');
    assert.equal(td.decode(reqs[2].body), 'abcdefg');
    assert.equal(reqs[2].chunked, true);
    assert.equal(reqs[2].trailers?.get('x-checksum'), '42');
    assert.equal(reqs[3].keepAlive, false, 'HTTP/1.0 without keep-alive closes');
    assert.ok(reqs.slice(0, 3).every((r) => r.keepAlive));
  };
  check(feedAll(new HttpRequestParser(), [raw]));
  for (let cut = 1; cut < raw.length; cut++) {
    const p = new HttpRequestParser();
    check(feedAll(p, [raw.subarray(0, cut), raw.subarray(cut)]));
    assert.ok(p.idle);
  }
  const rng = new Rng(1112);
  for (let i = 0; i < 50; i++) check(feedAll(new HttpRequestParser(), splitRandomly(raw, rng)));
});

test('responses: content-length, chunked, close-delimited, HEAD, 204/304, 1xx', () => {
  const p = new HttpResponseParser();
  p.expectResponseTo('GET');
  p.expectResponseTo('HEAD');
  p.expectResponseTo('GET');
  p.expectResponseTo('GET');
  p.expectResponseTo('GET');
  const raw = b(
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok' +
      'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + // HEAD: no body despite the length
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n' +
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n' +
      'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nno healthy upstream',
  );
  const got = feedAll(p, [raw]);
  assert.deepEqual(got.map((r) => r.status), [200, 200, 100, 204, 304]);
  assert.equal(td.decode(got[0].body), 'ok');
  assert.equal(got[1].body.length, 0);
  assert.equal(p.idle, false, 'the 503 body runs until close');
  const fin = p.finish();
  assert.ok(!isParseFailure(fin));
  assert.equal(fin.length, 1);
  assert.equal(fin[0].status, 503);
  assert.equal(fin[0].reason, 'Service Unavailable');
  assert.equal(td.decode(fin[0].body), 'no healthy upstream');
  assert.equal(fin[0].keepAlive, false);

  const c = new HttpResponseParser();
  const chunked = feedAll(c, [b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')]);
  assert.equal(td.decode(chunked[0].body), 'hello world');
  assert.ok(chunked[0].chunked && chunked[0].keepAlive);
});

test('serializers produce bytes the parsers read back', () => {
  const req = serializeRequest({ method: 'POST', target: '/submit', headers: [['Host', 'backend'], ['Content-Type', 'application/json']], body: '{"a":1}' });
  assert.equal(td.decode(req), 'POST /submit HTTP/1.1\r\nHost: backend\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}');
  const [r] = feedAll(new HttpRequestParser(), [req]);
  assert.equal(td.decode(r.body), '{"a":1}');
  assert.equal(td.decode(serializeRequest({ method: 'GET', target: '/', headers: { Host: 'x' } })), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');

  const res = serializeResponse({ status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
  assert.equal(td.decode(res), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi');
  assert.equal(td.decode(serializeResponse({ status: 204 })), 'HTTP/1.1 204 No Content\r\n\r\n');
  assert.equal(td.decode(serializeResponse({ status: 404, body: '' })), 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  assert.equal(td.decode(serializeResponse({ status: 200, body: 'abc' }, { headRequest: true })), 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n');

  const big = new Uint8Array(40000).map((_, i) => i & 0xff);
  const chunkedRes = serializeResponse({ status: 200, headers: [['Transfer-Encoding', 'chunked']], body: big });
  const p = new HttpResponseParser();
  const [back] = feedAll(p, splitRandomly(chunkedRes, new Rng(5)));
  assert.deepEqual(back.body, big);
  assert.ok(back.chunked);
  assert.equal(td.decode(encodeChunked(b('abc'), 2)), '2\r\nab\r\n1\r\nc\r\n0\r\n\r\n');

  assert.throws(() => serializeResponse({ status: 200, headers: { 'X-Bad': 'a\r\nInjected: 1' } }), RangeError);
  assert.throws(() => serializeRequest({ method: 'GET', target: '/a b' }), RangeError);
});

test('malformed input gives error values with a suggested status, and stays failed', () => {
  const bad: [string, string, number, number][] = [
    ['no version', 'GET /\r\n\r\n', ParseErrorCode.Malformed, 400],
    ['HTTP/2 text', 'GET / HTTP/2.0\r\n\r\n', ParseErrorCode.Unsupported, 505],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', ParseErrorCode.Malformed, 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n', ParseErrorCode.Malformed, 400],
    ['no colon', 'GET / HTTP/1.1\r\nHost\r\n\r\n', ParseErrorCode.Malformed, 400],
    ['bad content-length', 'POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n', ParseErrorCode.Malformed, 400],
    ['conflicting content-length', 'POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', ParseErrorCode.Malformed, 400],
    ['TE and CL (smuggling)', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', ParseErrorCode.Malformed, 400],
    ['unknown coding', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', ParseErrorCode.Unsupported, 501],
    ['bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', ParseErrorCode.Malformed, 400],
    ['chunk without CRLF', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX', ParseErrorCode.Malformed, 400],
    ['bare CR', 'GET / HTTP/1.1\r\nX: a\rb\r\n\r\n', ParseErrorCode.Malformed, 400],
  ];
  for (const [name, text, code, status] of bad) {
    const p = new HttpRequestParser();
    const r = p.feed(b(text));
    assert.ok(isParseFailure(r), name);
    assert.equal(r.error, code, `${name}: ${r.detail}`);
    assert.equal(r.status, status, name);
    assert.equal(r.layer, 'http');
    const again = p.feed(b('GET / HTTP/1.1\r\n\r\n'));
    assert.ok(isParseFailure(again), `${name}: sticky`);
  }
  const cl = new HttpResponseParser().feed(b('HTTP/1.1 2OO OK\r\n\r\n'));
  assert.ok(isParseFailure(cl) && cl.status === 502);
  // Identical repeated Content-Length values are tolerated.
  const ok = new HttpRequestParser().feed(b('POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nhi'));
  assert.ok(!isParseFailure(ok) && ok.length === 1);
});

test('size limits: header section, header count, body', () => {
  const p = new HttpRequestParser({ maxHeaderBytes: 256 });
  const r = p.feed(b(`GET / HTTP/1.1\r\nX-Long: ${'a'.repeat(300)}`));
  assert.ok(isParseFailure(r) && r.status === 431, 'no end of header in sight');
  const q = new HttpRequestParser({ maxHeaders: 3 });
  const many = q.feed(b('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n'));
  assert.ok(isParseFailure(many) && many.status === 431);
  const s = new HttpRequestParser({ maxBodyBytes: 10 });
  const big = s.feed(b('POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n'));
  assert.ok(isParseFailure(big) && big.status === 413);
  const c = new HttpRequestParser({ maxBodyBytes: 10 });
  const bigChunked = c.feed(b('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n'));
  assert.ok(isParseFailure(bigChunked) && bigChunked.status === 413);
});

test('connection semantics and truncated streams', () => {
  const [close] = feedAll(new HttpRequestParser(), [b('GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n')]);
  assert.equal(close.keepAlive, false);
  const [ka10] = feedAll(new HttpRequestParser(), [b('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')]);
  assert.equal(ka10.keepAlive, true);
  // Empty lines before a request line are ignored; bare LF line ends accepted.
  const [lf] = feedAll(new HttpRequestParser(), [b('\r\n\nGET /lf HTTP/1.1\nHost: h\n\n')]);
  assert.equal(lf.target, '/lf');
  assert.equal(lf.headers.get('host'), 'h');

  const p = new HttpRequestParser();
  assert.deepEqual(p.feed(b('POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc')), []);
  const cut = p.finish();
  assert.ok(isParseFailure(cut) && cut.error === ParseErrorCode.Truncated);
  const idle = new HttpRequestParser();
  assert.deepEqual(idle.finish(), []);

  const h = new HttpHeaders([['Content-Type', 'a']]);
  h.set('content-type', 'b');
  assert.deepEqual(h.entries(), [['content-type', 'b']]);
  h.delete('CONTENT-TYPE');
  assert.equal(h.size, 0);
});

test('response keep-alive and pipelined responses', () => {
  const p = new HttpResponseParser();
  const rs: HttpResponse[] = feedAll(p, [b('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb')]);
  assert.deepEqual(rs.map((r) => [r.version, td.decode(r.body), r.keepAlive]), [
    ['HTTP/1.1', 'a', true],
    ['HTTP/1.0', 'b', false],
  ]);
});
