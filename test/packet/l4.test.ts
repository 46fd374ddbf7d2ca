import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ETH,
  EtherType,
  ICMP,
  IPV4,
  Icmpv4DstUnreachCode,
  Icmpv4Type,
  IpProto,
  ParseErrorCode,
  TCP,
  TcpFlags,
  TcpSegment,
  UDP,
  UdpDatagram,
  buildArpFrame,
  buildFrameWithHeadroom,
  buildIcmpEchoFrame,
  buildTcpFrame,
  buildUdpFrame,
  checkTcp,
  emitIcmpv4,
  emitTcp,
  emitUdp,
  icmpv4TypeCodeName,
  isParseFailure,
  parseArp,
  parseEthernet,
  parseIcmpv4,
  parseIpv4,
  parseTcp,
  parseUdp,
  quoteForIcmpError,
  tcpFlagsHubbleString,
  tcpFlagsToString,
  type Icmpv4Repr,
  type TcpRepr,
} from '../../src/packet/index.js';

const SRC = 0x0a000132; // 10.0.1.50
const DST = 0x0a000264; // 10.0.2.100
const te = new TextEncoder();

function syn(): TcpRepr {
  return {
    srcPort: 43210,
    dstPort: 8080,
    seq: 0xdeadbeef,
    ack: 0,
    flags: TcpFlags.SYN,
    window: 64240,
    options: { mss: 1460, sackPermitted: true, timestamp: { value: 123456, echo: 0 }, windowScale: 7 },
    payload: new Uint8Array(0),
  };
}

test('TCP SYN with Linux options: exact option bytes and round trip', () => {
  const repr = syn();
  const buf = new Uint8Array(80);
  const n = emitTcp(repr, buf, 0, SRC, DST);
  assert.equal(n, 40);
  assert.deepEqual(
    [...buf.subarray(20, 40)],
    [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 1, 0xe2, 0x40, 0, 0, 0, 0, 1, 3, 3, 7],
  );
  assert.equal(buf[TCP.DATA_OFF], 0xa0);
  const parsed = parseTcp(buf, 0, n, SRC, DST);
  assert.ok(!isParseFailure(parsed), JSON.stringify(parsed));
  assert.deepEqual(parsed, repr);
  const view = new TcpSegment(buf, 0, n);
  assert.ok(view.syn && !view.ackFlag && view.verifyChecksum(SRC, DST));
  assert.equal(view.headerLen, 40);
  // Same bytes, different pseudo header: checksum must fail.
  const wrong = parseTcp(buf, 0, n, SRC, DST + 1);
  assert.ok(isParseFailure(wrong) && wrong.error === ParseErrorCode.BadChecksum && wrong.layer === 'tcp');
});

test('TCP data segment round trip, every option combination', () => {
  const payload = te.encode('GET / HTTP/1.1\r\nHost: backend\r\n\r\n');
  const variants: TcpRepr['options'][] = [
    {},
    { mss: 1410 },
    { sackPermitted: true },
    { timestamp: { value: 0xffffffff, echo: 42 } },
    { windowScale: 14 },
    { sackBlocks: [{ left: 1000, right: 2000 }, { left: 3000, right: 0xfffffff0 }] },
    { timestamp: { value: 1, echo: 2 }, sackBlocks: [{ left: 5, right: 6 }] },
  ];
  for (const options of variants) {
    const repr: TcpRepr = { srcPort: 1, dstPort: 65535, seq: 1, ack: 0xffffffff, flags: TcpFlags.ACK | TcpFlags.PSH, window: 502, urgent: 7, options, payload };
    const buf = new Uint8Array(200);
    const n = emitTcp(repr, buf, 3, SRC, DST);
    const parsed = parseTcp(buf, 3, n, SRC, DST);
    assert.ok(!isParseFailure(parsed), JSON.stringify(parsed));
    assert.deepEqual(parsed, repr);
  }
});

test('TCP option garbage is Malformed, never an exception', () => {
  const garbage: number[][] = [
    [0x02, 0x00, 0x00, 0x00], // length 0
    [0x02, 0x01, 0x00, 0x00], // length 1
    [0x01, 0x01, 0x01, 0x08], // kind at the last byte, no length
    [0x08, 0x0a, 0x00, 0x00], // timestamp running past the header
    [0x02, 0x03, 0x05, 0x00], // MSS with wrong length
    [0x03, 0x04, 0x07, 0x00], // window scale with wrong length
    [0xfe, 0x06, 0x00, 0x00], // unknown option running past the header
    [0x05, 0x02, 0x00, 0x00], // SACK with no blocks
  ];
  for (const opts of garbage) {
    const buf = new Uint8Array(24);
    buf[TCP.DATA_OFF] = 0x60;
    buf.set(opts, 20);
    const seg = new TcpSegment(buf);
    seg.fillChecksum(SRC, DST);
    const r = parseTcp(buf, 0, 24, SRC, DST);
    assert.ok(isParseFailure(r), `options ${opts}`);
    assert.equal(r.error, ParseErrorCode.Malformed, `options ${opts}`);
    assert.equal(checkTcp(buf, 0, 24), ParseErrorCode.Malformed);
  }
  // Unknown option with a sane length is skipped; EOL ends the list.
  const ok = new Uint8Array(28);
  ok[TCP.DATA_OFF] = 0x70;
  ok.set([0xfd, 0x04, 0xaa, 0xbb, 0x00, 0x99, 0x99, 0x99], 20);
  new TcpSegment(ok).fillChecksum(SRC, DST);
  const r = parseTcp(ok, 0, 28, SRC, DST);
  assert.ok(!isParseFailure(r));
  assert.deepEqual(r.options, {});
  // Data offset < 5 and > segment.
  const small = new Uint8Array(20);
  small[TCP.DATA_OFF] = 0x40;
  assert.equal(checkTcp(small, 0, 20), ParseErrorCode.Malformed);
  small[TCP.DATA_OFF] = 0xf0;
  assert.equal(checkTcp(small, 0, 20), ParseErrorCode.Truncated);
  for (let len = 0; len < 20; len++) assert.equal(checkTcp(small, 0, len), ParseErrorCode.Truncated);
});

test('TCP flag strings: cilium monitor and Hubble orders', () => {
  assert.equal(tcpFlagsToString(TcpFlags.SYN), 'SYN');
  assert.equal(tcpFlagsToString(TcpFlags.SYN | TcpFlags.ACK), 'SYN, ACK');
  assert.equal(tcpFlagsToString(TcpFlags.FIN | TcpFlags.ACK | TcpFlags.PSH), 'ACK, FIN');
  assert.equal(tcpFlagsToString(TcpFlags.RST | TcpFlags.ACK), 'ACK, RST');
  assert.equal(tcpFlagsToString(TcpFlags.PSH), '');
  assert.equal(tcpFlagsHubbleString(TcpFlags.ACK | TcpFlags.PSH), 'ACK, PSH');
  assert.equal(tcpFlagsHubbleString(0xff, true), 'SYN, ACK, RST, FIN, PSH, URG, ECE, CWR, NS');
});

test('UDP: round trip, zero checksum allowed, bad checksum caught, 0 sent as 0xffff', () => {
  const payload = te.encode('hello');
  const buf = new Uint8Array(64);
  const n = emitUdp({ srcPort: 5353, dstPort: 53, payload }, buf, 0, SRC, DST);
  assert.equal(n, 13);
  const r = parseUdp(buf, 0, n, SRC, DST);
  assert.ok(!isParseFailure(r));
  assert.deepEqual(r, { srcPort: 5353, dstPort: 53, payload });
  const view = new UdpDatagram(buf, 0, n);
  assert.equal(view.length, 13);
  assert.ok(view.verifyChecksum(SRC, DST));
  buf[UDP.HEADER_LEN] ^= 0x20;
  const bad = parseUdp(buf, 0, n, SRC, DST);
  assert.ok(isParseFailure(bad) && bad.error === ParseErrorCode.BadChecksum && bad.layer === 'udp');
  const z = new Uint8Array(64);
  emitUdp({ srcPort: 1, dstPort: 8472, payload }, z, 0, SRC, DST, { zeroChecksum: true });
  assert.equal(new UdpDatagram(z).checksum, 0);
  assert.ok(!isParseFailure(parseUdp(z, 0, 13, SRC, DST)));
  // Find a payload whose checksum computes to 0: must go on the wire as 0xffff.
  const p2 = new Uint8Array(2);
  let found = false;
  for (let w = 0; w < 0x10000 && !found; w++) {
    p2[0] = w >>> 8;
    p2[1] = w & 0xff;
    emitUdp({ srcPort: 1, dstPort: 2, payload: p2 }, z, 0, SRC, DST);
    if (new UdpDatagram(z).checksum === 0xffff) found = true;
  }
  assert.ok(found);
  assert.ok(!isParseFailure(parseUdp(z, 0, 10, SRC, DST)));
  // Length field out of range.
  const l = buf.slice(0, n);
  l[UDP.LENGTH + 1] = 7;
  assert.equal((parseUdp(l, 0, n, SRC, DST) as { error: number }).error, ParseErrorCode.Malformed);
  l[UDP.LENGTH + 1] = 14;
  assert.equal((parseUdp(l, 0, n, SRC, DST) as { error: number }).error, ParseErrorCode.Truncated);
});

test('ICMP echo and errors: round trip and names', () => {
  const echo: Icmpv4Repr = { kind: 'echoRequest', ident: 0x1234, seq: 1, data: te.encode('abcdefgh01234567') };
  const buf = new Uint8Array(200);
  const n = emitIcmpv4(echo, buf, 0);
  assert.equal(n, 24);
  assert.deepEqual(parseIcmpv4(buf, 0, n), echo);
  buf[ICMP.HEADER_LEN] ^= 1;
  const bad = parseIcmpv4(buf, 0, n);
  assert.ok(isParseFailure(bad) && bad.error === ParseErrorCode.BadChecksum && bad.layer === 'icmpv4');

  // Port unreachable quoting a UDP datagram: original header + first 8 bytes.
  const orig = buildUdpFrame({ srcMac: 1, dstMac: 2, srcIp: SRC, dstIp: DST, srcPort: 40000, dstPort: 53, payload: te.encode('query-bytes'), ident: 77 });
  const quote = quoteForIcmpError(orig, ETH.HEADER_LEN, orig.length - ETH.HEADER_LEN);
  assert.equal(quote.length, 28);
  const origIp = parseIpv4(orig, ETH.HEADER_LEN, orig.length - ETH.HEADER_LEN);
  assert.ok(!isParseFailure(origIp));
  const unreach: Icmpv4Repr = { kind: 'dstUnreachable', code: Icmpv4DstUnreachCode.PortUnreachable, header: origIp, data: quote.subarray(20) };
  const m = emitIcmpv4(unreach, buf, 0);
  assert.equal(m, 36);
  assert.deepEqual([...buf.subarray(ICMP.HEADER_LEN, m)], [...quote]);
  const parsed = parseIcmpv4(buf, 0, m);
  assert.ok(!isParseFailure(parsed));
  assert.deepEqual(parsed, unreach);
  const fragNeeded: Icmpv4Repr = { kind: 'dstUnreachable', code: Icmpv4DstUnreachCode.FragmentationNeeded, nextHopMtu: 1450, header: origIp, data: quote.subarray(20) };
  assert.deepEqual(parseIcmpv4(buf, 0, emitIcmpv4(fragNeeded, buf, 0)), fragNeeded);
  const ttl: Icmpv4Repr = { kind: 'timeExceeded', code: 0, header: origIp, data: quote.subarray(20) };
  assert.deepEqual(parseIcmpv4(buf, 0, emitIcmpv4(ttl, buf, 0)), ttl);
  // A quoted header that is cut short.
  const cut = parseIcmpv4(buf, 0, 20, { verifyChecksum: false });
  assert.ok(isParseFailure(cut) && cut.layer === 'icmpv4' && cut.error === ParseErrorCode.Truncated);
  // Unknown type.
  buf[0] = 42;
  const unk = parseIcmpv4(buf, 0, m, { verifyChecksum: false });
  assert.ok(isParseFailure(unk) && unk.error === ParseErrorCode.Unsupported);

  assert.equal(icmpv4TypeCodeName(Icmpv4Type.EchoRequest, 0), 'EchoRequest');
  assert.equal(icmpv4TypeCodeName(Icmpv4Type.EchoReply, 0), 'EchoReply');
  assert.equal(icmpv4TypeCodeName(Icmpv4Type.DestinationUnreachable, 3), 'DestinationUnreachable(Port)');
  assert.equal(icmpv4TypeCodeName(Icmpv4Type.DestinationUnreachable, 1), 'DestinationUnreachable(Host)');
  assert.equal(icmpv4TypeCodeName(Icmpv4Type.TimeExceeded, 0), 'TimeExceeded(TTLExceeded)');
});

test('builders produce frames that parse layer by layer with valid checksums', () => {
  const common = { srcMac: 0xce381f4b21dd, dstMac: 0xface3cde8bf8, srcIp: SRC, dstIp: DST };
  const tcp = buildTcpFrame({ ...common, srcPort: 43210, dstPort: 8080, flags: TcpFlags.SYN, seq: 1, options: syn().options, ident: 9 });
  assert.equal(tcp.length, 14 + 20 + 40);
  const eth = parseEthernet(tcp);
  assert.ok(!isParseFailure(eth));
  assert.deepEqual(eth, { src: common.srcMac, dst: common.dstMac, ethertype: EtherType.IPv4 });
  const ip = parseIpv4(tcp, ETH.HEADER_LEN);
  assert.ok(!isParseFailure(ip));
  assert.equal(ip.ttl, 64);
  assert.equal(ip.ident, 9);
  assert.ok(ip.dontFragment);
  assert.equal(ip.protocol, IpProto.TCP);
  const seg = parseTcp(tcp, ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN, ip.payloadLen, SRC, DST);
  assert.ok(!isParseFailure(seg));
  assert.equal(seg.options.mss, 1460);

  const udp = buildUdpFrame({ ...common, srcPort: 1, dstPort: 2, payload: te.encode('x'), ttl: 3 });
  const uip = parseIpv4(udp, ETH.HEADER_LEN);
  assert.ok(!isParseFailure(uip) && uip.ttl === 3);
  assert.ok(!isParseFailure(parseUdp(udp, 34, uip.payloadLen, SRC, DST)));

  const ping = buildIcmpEchoFrame({ ...common, echoIdent: 7, seq: 3, data: new Uint8Array(56) });
  const pr = parseIcmpv4(ping, 34, ping.length - 34);
  assert.ok(!isParseFailure(pr) && pr.kind === 'echoRequest' && pr.ident === 7 && pr.seq === 3 && pr.data.length === 56);

  const arp = buildArpFrame({ op: 1, srcMac: common.srcMac, spa: SRC, tpa: DST });
  assert.equal(arp.length, 42);
  const ae = parseEthernet(arp);
  assert.ok(!isParseFailure(ae) && ae.dst === 0xffffffffffff && ae.ethertype === EtherType.ARP);
  assert.deepEqual(parseArp(arp, 14), { op: 1, sha: common.srcMac, spa: SRC, tha: 0, tpa: DST });

  const h = buildFrameWithHeadroom(tcp);
  assert.equal(h.off, 64);
  assert.equal(h.len, tcp.length);
  assert.deepEqual(h.buf.subarray(h.off, h.off + h.len), tcp);
});
