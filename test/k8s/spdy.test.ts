// SPDY/3.1 frames, header blocks and the server session, byte for byte as
// the draft lays them out; bad and truncated input is a value, never a throw.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { isParseFailure, ParseErrorCode } from '../../src/packet/error.js';
import {
  decodeHeaderBlock,
  emitFrame,
  encodeHeaderBlock,
  FLAG_FIN,
  GoAwayStatus,
  HeaderCompressor,
  HeaderDecompressor,
  parseFrame,
  RstStatus,
  SettingsId,
  SPDY3_DICTIONARY,
  type SpdyFrame,
  type SpdyHeaders,
} from '../../src/k8s/spdy.js';
import { SpdyServerSession, type SpdyStream } from '../../src/k8s/spdy-session.js';

const hb = (bytes: number[]): Uint8Array => new Uint8Array(bytes);

const FRAMES: SpdyFrame[] = [
  { type: 'data', streamId: 1, flags: 0, data: new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n') },
  { type: 'data', streamId: 0x7fffffff, flags: FLAG_FIN, data: new Uint8Array(0) },
  { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 7, slot: 0, flags: FLAG_FIN, headerBlock: hb([1, 2, 3]) },
  { type: 'syn_reply', streamId: 3, flags: 0, headerBlock: hb([9, 9]) },
  { type: 'headers', streamId: 5, flags: FLAG_FIN, headerBlock: hb([]) },
  { type: 'rst_stream', streamId: 5, status: RstStatus.CANCEL },
  { type: 'settings', flags: 0, entries: [{ flags: 0, id: SettingsId.INITIAL_WINDOW_SIZE, value: 1 << 20 }, { flags: 1, id: SettingsId.MAX_CONCURRENT_STREAMS, value: 100 }] },
  { type: 'ping', id: 1 },
  { type: 'goaway', lastGoodStreamId: 7, status: GoAwayStatus.PROTOCOL_ERROR },
  { type: 'window_update', streamId: 0, delta: 65536 },
];

test('every frame type emits and parses back to itself, using all its bytes', () => {
  for (const frame of FRAMES) {
    const bytes = emitFrame(frame);
    const parsed = parseFrame(bytes);
    assert.ok(!isParseFailure(parsed), `${frame.type}: ${JSON.stringify(parsed)}`);
    assert.equal(parsed.length, bytes.length);
    assert.deepEqual(parsed.frame, frame);
    // Frames are found at any offset inside a larger buffer.
    const padded = new Uint8Array(bytes.length + 5);
    padded.set(bytes, 3);
    const inside = parseFrame(padded, 3, 3 + bytes.length);
    assert.ok(!isParseFailure(inside));
    assert.deepEqual(inside.frame, frame);
  }
});

test('control and data frames are laid out as the draft says', () => {
  // PING id 1: C=1, version 3, type 6, flags 0, length 4, id.
  assert.deepEqual([...emitFrame({ type: 'ping', id: 1 })], [0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01]);
  // DATA on stream 5 with FIN: C=0, stream id, flags, 24-bit length, payload.
  assert.deepEqual([...emitFrame({ type: 'data', streamId: 5, flags: FLAG_FIN, data: hb([0xab]) })], [0x00, 0x00, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0xab]);
  // SYN_STREAM: stream id, associated id, priority in the top 3 bits, slot, then the header block.
  assert.deepEqual(
    [...emitFrame({ type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 2, slot: 0, flags: 0, headerBlock: hb([0xee]) })],
    [0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0b, 0, 0, 0, 1, 0, 0, 0, 0, 0x40, 0x00, 0xee],
  );
  // WINDOW_UPDATE stream 3 delta 0x1234.
  assert.deepEqual([...emitFrame({ type: 'window_update', streamId: 3, delta: 0x1234 })], [0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 3, 0, 0, 0x12, 0x34]);
});

test('every truncation of a frame is reported as Truncated, without throwing', () => {
  for (const frame of FRAMES) {
    const bytes = emitFrame(frame);
    for (let n = 0; n < bytes.length; n++) {
      const r = parseFrame(bytes.subarray(0, n));
      assert.ok(isParseFailure(r), `${frame.type} cut at ${n} parsed`);
      assert.equal(r.error, ParseErrorCode.Truncated, `${frame.type} cut at ${n}: ${r.detail}`);
    }
  }
});

test('frames that can never be valid are Malformed or Unsupported, with the reason', () => {
  const cases: [number[], number, RegExp][] = [
    // PING of length 8.
    [[0x80, 3, 0, 6, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0], ParseErrorCode.Malformed, /PING frame of length 8, must be 4/],
    // SPDY/2 control frame.
    [[0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1], ParseErrorCode.Unsupported, /version 2/],
    // DATA on stream 0.
    [[0, 0, 0, 0, 0, 0, 0, 1, 0x61], ParseErrorCode.Malformed, /data frame on stream 0/],
    // SETTINGS claiming 2 entries but carrying 1.
    [[0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 1, 0], ParseErrorCode.Malformed, /SETTINGS frame of length 12 for 2 entries/],
    // WINDOW_UPDATE with delta 0.
    [[0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0], ParseErrorCode.Malformed, /delta of 0/],
    // RST_STREAM on stream 0.
    [[0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 5], ParseErrorCode.Malformed, /RST_STREAM on stream 0/],
    // SYN_STREAM too short for its fixed fields.
    [[0x80, 3, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1], ParseErrorCode.Malformed, /needs at least 10/],
  ];
  for (const [bytes, code, message] of cases) {
    const r = parseFrame(hb(bytes));
    assert.ok(isParseFailure(r), `${bytes.join(',')} parsed`);
    assert.equal(r.error, code);
    assert.match(r.detail, message);
  }
  // A control type the draft does not define is skipped whole (the receiver ignores it).
  const unknown = parseFrame(hb([0x80, 3, 0, 0x20, 0, 0, 0, 2, 0xaa, 0xbb]));
  assert.ok(!isParseFailure(unknown));
  assert.deepEqual(unknown, { frame: { type: 'unknown', controlType: 0x20, flags: 0 }, length: 10 });
});

test('header blocks round-trip; uppercase, repeated and cut-short names are refused', () => {
  const headers: SpdyHeaders = new Map([
    ['streamtype', ['data']],
    ['port', ['8080']],
    ['requestid', ['0']],
    ['x-multi', ['a', 'b']],
  ]);
  const raw = encodeHeaderBlock(headers);
  assert.deepEqual(decodeHeaderBlock(raw), headers);
  // count 1, name "Port", value "80".
  const upper = hb([0, 0, 0, 1, 0, 0, 0, 4, 0x50, 0x6f, 0x72, 0x74, 0, 0, 0, 2, 0x38, 0x30]);
  const u = decodeHeaderBlock(upper);
  assert.ok(isParseFailure(u));
  assert.match(u.detail, /"Port" is not lowercase/);
  const twice = hb([0, 0, 0, 2, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x31, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x32]);
  const t = decodeHeaderBlock(twice);
  assert.ok(isParseFailure(t));
  assert.match(t.detail, /"a" appears twice/);
  for (let n = 0; n < raw.length; n++) {
    const r = decodeHeaderBlock(raw.subarray(0, n));
    assert.ok(isParseFailure(r), `cut at ${n} decoded`);
  }
  const extra = new Uint8Array(raw.length + 1);
  extra.set(raw);
  const e = decodeHeaderBlock(extra);
  assert.ok(isParseFailure(e));
  assert.match(e.detail, /1 bytes after the last of 4 header pairs/);
});

test('header compression is one zlib stream per direction, primed with the SPDY/3 dictionary', async () => {
  // The draft's dictionary: 1423 bytes, starting with the length-prefixed "options".
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.deepEqual([...SPDY3_DICTIONARY.subarray(0, 11)], [0, 0, 0, 7, ...Buffer.from('options')]);
  assert.equal(SPDY3_DICTIONARY.subarray(-5).toString('latin1'), 'enq=0.'.slice(-5));

  const out = new HeaderCompressor();
  const inn = new HeaderDecompressor();
  const first: SpdyHeaders = new Map([['streamtype', ['error']], ['port', ['8081']], ['requestid', ['0']]]);
  const second: SpdyHeaders = new Map([['streamtype', ['data']], ['port', ['8081']], ['requestid', ['0']]]);
  const b1 = await out.compress(first);
  const b2 = await out.compress(second);
  // zlib header with FDICT set, then the dictionary's Adler-32; each block ends in a sync flush.
  assert.equal(b1[0], 0x78);
  assert.equal(b1[1]! & 0x20, 0x20);
  assert.deepEqual([...b1.subarray(-4)], [0x00, 0x00, 0xff, 0xff]);
  assert.deepEqual([...b2.subarray(-4)], [0x00, 0x00, 0xff, 0xff]);
  // The second block refers back into the first: it only inflates as part of the stream.
  assert.ok(b2.length < b1.length);
  assert.throws(() => inflateSync(b1), /dictionary/i);
  assert.deepEqual(await inn.decompress(b1), first);
  assert.deepEqual(await inn.decompress(b2), second);
  out.close();
  inn.close();

  const garbage = new HeaderDecompressor();
  const bad = await garbage.decompress(hb([0x78, 0xbb, 1, 2, 3, 4, 5, 6]));
  assert.ok(isParseFailure(bad));
  assert.match(bad.detail, /header block does not inflate/);
  garbage.close();
});

// ---- the session ------------------------------------------------------------------

interface Harness {
  session: SpdyServerSession;
  frames: SpdyFrame[];
  streams: SpdyStream[];
  closedWith: string[];
  transportClosed: boolean;
  /** Wait until the session has handled its input and written its output, then parse what it wrote into `frames`. */
  settle(): Promise<void>;
}

function harness(onStream: (s: SpdyStream) => void = (s) => s.reply()): Harness {
  let written = new Uint8Array(0);
  const h: Harness = {
    frames: [],
    streams: [],
    closedWith: [],
    transportClosed: false,
    session: undefined as unknown as SpdyServerSession,
    async settle() {
      await h.session.drained();
      let off = 0;
      for (;;) {
        const p = parseFrame(written, off);
        if (isParseFailure(p)) break;
        h.frames.push(p.frame);
        off += p.length;
      }
      written = written.slice(off);
    },
  };
  h.session = new SpdyServerSession(
    {
      write: (bytes) => {
        const joined = new Uint8Array(written.length + bytes.length);
        joined.set(written);
        joined.set(bytes, written.length);
        written = joined;
      },
      close: () => (h.transportClosed = true),
    },
    {
      onStream: (s) => {
        h.streams.push(s);
        onStream(s);
      },
      onClose: (reason) => h.closedWith.push(reason ?? ''),
    },
  );
  return h;
}

async function synStream(client: HeaderCompressor, streamId: number, headers: [string, string][], flags = 0): Promise<Uint8Array> {
  const headerBlock = await client.compress(new Map(headers.map(([k, v]) => [k, [v]])));
  return emitFrame({ type: 'syn_stream', streamId, associatedTo: 0, priority: 0, slot: 0, flags, headerBlock });
}

test('a session takes streams byte by byte, replies, echoes pings, carries data both ways and half-closes', async () => {
  const client = new HeaderCompressor();
  const got: string[] = [];
  const h = harness((s) => {
    s.reply();
    s.onData = (b) => {
      const text = new TextDecoder().decode(b);
      got.push(text);
      s.write(new TextEncoder().encode(text.toUpperCase()));
    };
    s.onFin = () => s.end();
  });
  const bytes = Buffer.concat([
    await synStream(client, 1, [['streamtype', 'data'], ['port', '80'], ['requestid', '0']]),
    emitFrame({ type: 'data', streamId: 1, flags: 0, data: new TextEncoder().encode('hello') }),
    emitFrame({ type: 'ping', id: 1 }),
    emitFrame({ type: 'ping', id: 2 }),
    emitFrame({ type: 'data', streamId: 1, flags: FLAG_FIN, data: new Uint8Array(0) }),
  ]);
  // One byte at a time: frames split anywhere come out the same.
  for (const b of bytes) h.session.receive(hb([b]));
  await h.settle();
  assert.equal(h.streams.length, 1);
  assert.equal(h.streams[0]!.headers.get('port')?.[0], '80');
  assert.deepEqual(got, ['hello']);
  // The client's ping (odd id) is echoed; an even id would be an answer to one of ours, and is not.
  assert.deepEqual(
    h.frames.map((f) => f.type),
    ['syn_reply', 'data', 'ping', 'data'],
  );
  const [reply, data, ping, fin] = h.frames as [Extract<SpdyFrame, { type: 'syn_reply' }>, Extract<SpdyFrame, { type: 'data' }>, SpdyFrame, Extract<SpdyFrame, { type: 'data' }>];
  assert.equal(reply.streamId, 1);
  const inflater = new HeaderDecompressor();
  assert.deepEqual(await inflater.decompress(reply.headerBlock), new Map());
  assert.deepEqual([data.streamId, data.flags, new TextDecoder().decode(data.data)], [1, 0, 'HELLO']);
  assert.deepEqual(ping, { type: 'ping', id: 1 });
  assert.deepEqual([fin.streamId, fin.flags, fin.data.length], [1, FLAG_FIN, 0]);
  // Both sides have closed: the stream is gone, and writes to it send nothing.
  h.streams[0]!.write(new TextEncoder().encode('late'));
  await h.settle();
  assert.equal(h.frames.length, 4);
  assert.equal(h.closedWith.length, 0);
  client.close();
  inflater.close();
});

test('a stream id that goes backwards is reset; a malformed frame ends the session with GOAWAY PROTOCOL_ERROR', async () => {
  const client = new HeaderCompressor();
  const h = harness();
  h.session.receive(await synStream(client, 3, [['streamtype', 'error']]));
  h.session.receive(await synStream(client, 1, [['streamtype', 'data']]));
  await h.settle();
  assert.deepEqual(
    h.frames.map((f) => f.type),
    ['syn_reply', 'rst_stream'],
  );
  assert.deepEqual(h.frames[1], { type: 'rst_stream', streamId: 1, status: RstStatus.PROTOCOL_ERROR });
  assert.equal(h.streams.length, 1);

  const resets: number[] = [];
  h.streams[0]!.onReset = (status) => resets.push(status);
  // A PING of the wrong length can never be valid.
  h.session.receive(hb([0x80, 3, 0, 6, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0]));
  await h.settle();
  assert.deepEqual(h.frames.at(-1), { type: 'goaway', lastGoodStreamId: 3, status: GoAwayStatus.PROTOCOL_ERROR });
  assert.match(h.closedWith[0]!, /SPDY protocol error: PING frame of length 8, must be 4/);
  assert.equal(h.transportClosed, true);
  assert.deepEqual(resets, [RstStatus.CANCEL]);
  // Nothing after the end is handled.
  h.session.receive(emitFrame({ type: 'ping', id: 3 }));
  const before = h.frames.length;
  await h.settle();
  assert.equal(h.frames.length, before);
  client.close();
});

test('flow control binds once the peer shows it keeps windows, and credit goes back as data is consumed', async () => {
  const client = new HeaderCompressor();
  const h = harness();
  h.session.receive(await synStream(client, 1, [['streamtype', 'data']]));
  h.session.receive(emitFrame({ type: 'settings', flags: 0, entries: [{ flags: 0, id: SettingsId.INITIAL_WINDOW_SIZE, value: 10 }] }));
  await h.settle();
  const stream = h.streams[0]!;
  stream.write(new Uint8Array(25).fill(0x61));
  await h.settle();
  const sent = (): number => h.frames.filter((f): f is Extract<SpdyFrame, { type: 'data' }> => f.type === 'data').reduce((n, f) => n + f.data.length, 0);
  assert.equal(sent(), 10);
  h.session.receive(emitFrame({ type: 'window_update', streamId: 1, delta: 100 }));
  await h.settle();
  assert.equal(sent(), 25);

  // 40 KiB consumed (over half the 64 KiB window): stream and session credit come back.
  h.session.receive(emitFrame({ type: 'data', streamId: 1, flags: 0, data: new Uint8Array(40 * 1024) }));
  await h.settle();
  const updates = h.frames.filter((f) => f.type === 'window_update');
  assert.deepEqual(updates, [
    { type: 'window_update', streamId: 1, delta: 40 * 1024 },
    { type: 'window_update', streamId: 0, delta: 40 * 1024 },
  ]);
  client.close();
});
