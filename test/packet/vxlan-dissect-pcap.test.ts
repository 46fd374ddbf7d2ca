import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ETH,
  EtherType,
  Icmpv4DstUnreachCode,
  IpProto,
  ParseErrorCode,
  TcpFlags,
  VXLAN,
  VXLAN_ENCAP_OVERHEAD,
  VXLAN_FLAG_I,
  VXLAN_PORT,
  VxlanHeader,
  buildArpFrame,
  buildFrameWithHeadroom,
  buildIcmpEchoFrame,
  buildTcpFrame,
  buildUdpFrame,
  connectionSummary,
  dissectFrame,
  emitIcmpv4,
  emitIpv4,
  emitEthernet,
  emitVxlan,
  internetChecksum,
  isParseFailure,
  parseIpv4,
  parseVxlan,
  parseVxlanOuter,
  pcapToBuffer,
  PcapWriter,
  readPcap,
  vxlanFlowSourcePort,
  writeVxlanEncap,
  quoteForIcmpError,
  type Ipv4Repr,
  type DissectedFrame,
} from '../../src/packet/index.js';
import { Rng } from '../../src/util/rng.js';

const POD_A = 0x0a000132; // 10.0.1.50
const POD_B = 0x0a000264; // 10.0.2.100
const NODE_1 = 0xc0a8010b; // 192.168.1.11
const NODE_2 = 0xc0a8010c; // 192.168.1.12
const MAC_A = 0xce381f4b21dd;
const MAC_B = 0xface3cde8bf8;
const common = { srcMac: MAC_A, dstMac: MAC_B, srcIp: POD_A, dstIp: POD_B };
const synOptions = { mss: 1460, sackPermitted: true, timestamp: { value: 4242, echo: 0 }, windowScale: 7 };

function synFrame(): Uint8Array {
  return buildTcpFrame({ ...common, srcPort: 43210, dstPort: 8080, flags: TcpFlags.SYN, seq: 1000, options: synOptions });
}

function encapsulated(inner: Uint8Array, vni: number): { buf: Uint8Array; off: number; len: number } {
  const h = buildFrameWithHeadroom(inner);
  const off = h.off - VXLAN_ENCAP_OVERHEAD;
  writeVxlanEncap(h.buf, off, h.len, { srcMac: 0x020000000001, dstMac: 0x020000000002, srcIp: NODE_1, dstIp: NODE_2, srcPort: vxlanFlowSourcePort(0x9e3779b9), vni, ident: 5 });
  return { buf: h.buf, off, len: h.len + VXLAN_ENCAP_OVERHEAD };
}

test('VXLAN header round trip and I flag', () => {
  const b = new Uint8Array(8);
  emitVxlan({ vni: 0xabcdef }, b);
  assert.deepEqual([...b], [0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0]);
  assert.deepEqual(parseVxlan(b), { vni: 0xabcdef });
  const v = new VxlanHeader(b);
  v.vni = 12345;
  assert.equal(v.vni, 12345);
  assert.equal(v.flags, VXLAN_FLAG_I);
  b[0] = 0;
  const r = parseVxlan(b);
  assert.ok(isParseFailure(r) && r.error === ParseErrorCode.Malformed && r.layer === 'vxlan');
  const t = parseVxlan(b, 0, 7);
  assert.ok(isParseFailure(t) && t.error === ParseErrorCode.Truncated);
});

test('VXLAN encap in headroom, then decap gives back the inner frame', () => {
  const inner = synFrame();
  const e = encapsulated(inner, 12345);
  assert.equal(VXLAN_ENCAP_OVERHEAD, 50);
  assert.equal(e.off, 14);
  const outerIp = parseIpv4(e.buf, e.off + ETH.HEADER_LEN, e.len - ETH.HEADER_LEN);
  assert.ok(!isParseFailure(outerIp));
  assert.equal(outerIp.protocol, IpProto.UDP);
  assert.equal(outerIp.payloadLen, 8 + 8 + inner.length);
  assert.equal(outerIp.dontFragment, false);
  assert.equal(outerIp.ttl, 64);
  assert.equal(outerIp.ident, 5);
  const udpOff = e.off + 34;
  assert.equal((e.buf[udpOff + 2] << 8) | e.buf[udpOff + 3], VXLAN_PORT);
  assert.equal((e.buf[udpOff + 6] << 8) | e.buf[udpOff + 7], 0, 'outer UDP checksum is 0');
  const d = parseVxlanOuter(e.buf, e.off, e.len);
  assert.ok(!isParseFailure(d), JSON.stringify(d));
  assert.equal(d.vni, 12345);
  assert.equal(d.srcIp, NODE_1);
  assert.equal(d.dstIp, NODE_2);
  assert.equal(d.innerOff, 64);
  assert.deepEqual(e.buf.subarray(d.innerOff, d.innerOff + d.innerLen), inner);

  const tree = dissectFrame(e.buf, e.off, e.len);
  assert.equal(tree.error, undefined);
  assert.equal(tree.vxlan?.vni, 12345);
  assert.equal(tree.vxlan?.inner.tcp?.dstPort, 8080);
  assert.deepEqual(tree.vxlan?.inner.tcp?.options, synOptions);
  assert.equal(connectionSummary(tree), `192.168.1.11:${vxlanFlowSourcePort(0x9e3779b9)} -> 192.168.1.12:8472 udp`);
  assert.equal(connectionSummary(tree.vxlan!.inner), '10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN');

  // Decap rejections.
  const wrongPort = e.buf.slice(e.off, e.off + e.len);
  wrongPort[34 + 3] = 0xb5; // 8472 -> 0x21b5 = 8629
  const wp = parseVxlanOuter(wrongPort, 0, wrongPort.length);
  assert.ok(isParseFailure(wp) && wp.layer === 'udp' && wp.error === ParseErrorCode.Unsupported);
  const noI = e.buf.slice(e.off, e.off + e.len);
  noI[42] = 0;
  const ni = parseVxlanOuter(noI, 0, noI.length);
  assert.ok(isParseFailure(ni) && ni.layer === 'vxlan');
  for (let len = 0; len < e.len; len++) {
    const r = parseVxlanOuter(e.buf, e.off, len);
    assert.ok(isParseFailure(r) && r.error === ParseErrorCode.Truncated, `len ${len}`);
    assert.equal(r.layer, len < 14 ? 'ethernet' : 'ipv4', `len ${len}`);
  }
});

test('VXLAN source port follows Linux udp_flow_src_port', () => {
  const rng = new Rng(8472);
  for (let i = 0; i < 5000; i++) {
    const p = vxlanFlowSourcePort(rng.u32());
    assert.ok(p >= 32768 && p < 61000, `${p}`);
  }
  assert.equal(vxlanFlowSourcePort(0), 32768);
  // hash 0x0000ffff: mixed to 0xffffffff -> top of the range.
  assert.equal(vxlanFlowSourcePort(0x0000ffff), 60999);
  // Mixing makes low hash bits matter.
  assert.notEqual(vxlanFlowSourcePort(0x12340000 | 0x1111), vxlanFlowSourcePort(0x12340000 | 0x9999));
});

test('connection summaries in cilium monitor format', () => {
  const t = (f: Uint8Array): string => connectionSummary(dissectFrame(f));
  assert.equal(t(synFrame()), '10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN');
  assert.equal(t(buildTcpFrame({ ...common, srcPort: 8080, dstPort: 43210, flags: TcpFlags.SYN | TcpFlags.ACK })), '10.0.1.50:8080 -> 10.0.2.100:43210 tcp SYN, ACK');
  assert.equal(t(buildUdpFrame({ ...common, srcPort: 53000, dstPort: 53 })), '10.0.1.50:53000 -> 10.0.2.100:53 udp');
  assert.equal(t(buildIcmpEchoFrame({ ...common, echoIdent: 1, seq: 1 })), '10.0.1.50 -> 10.0.2.100 EchoRequest');
  assert.equal(t(buildIcmpEchoFrame({ ...common, reply: true })), '10.0.1.50 -> 10.0.2.100 EchoReply');
  assert.equal(t(buildArpFrame({ op: 1, srcMac: MAC_A, spa: POD_A, tpa: POD_B })), 'ce:38:1f:4b:21:dd -> ff:ff:ff:ff:ff:ff ARP');

  // Port unreachable from 10.0.2.100 back to 10.0.1.50 quoting the UDP datagram.
  const orig = buildUdpFrame({ ...common, srcPort: 53000, dstPort: 53, payload: new Uint8Array(20) });
  const origIp = parseIpv4(orig, 14) as Ipv4Repr;
  const quote = quoteForIcmpError(orig, 14, orig.length - 14);
  const frame = new Uint8Array(14 + 20 + 8 + 28);
  emitEthernet({ src: MAC_B, dst: MAC_A, ethertype: EtherType.IPv4 }, frame, 0);
  emitIpv4({ src: POD_B, dst: POD_A, protocol: IpProto.ICMP, ttl: 64, payloadLen: 36 }, frame, 14);
  emitIcmpv4({ kind: 'dstUnreachable', code: Icmpv4DstUnreachCode.PortUnreachable, header: origIp, data: quote.subarray(20) }, frame, 34);
  assert.equal(t(frame), '10.0.2.100 -> 10.0.1.50 DestinationUnreachable(Port)');
});

test('fragments are flagged and stop at the IPv4 layer', () => {
  const f = buildUdpFrame({ ...common, srcPort: 1, dstPort: 2, payload: new Uint8Array(16), dontFragment: false });
  f[14 + 6] = 0x20; // MF
  f[14 + 10] = 0;
  f[14 + 11] = 0;
  const sum = internetChecksum(f, 14, 20);
  f[14 + 10] = sum >>> 8;
  f[14 + 11] = sum & 0xff;
  const tree = dissectFrame(f);
  assert.equal(tree.error, undefined);
  assert.equal(tree.ipv4?.isFragment, true);
  assert.equal(tree.ipv4?.moreFragments, true);
  assert.equal(tree.udp, undefined);
  assert.equal(connectionSummary(tree), '10.0.1.50 -> 10.0.2.100');
});

test('every truncation of every frame is a ParseFailure at the right layer', () => {
  const frames: [string, Uint8Array, string][] = [
    ['tcp', synFrame(), 'ipv4'],
    ['udp', buildUdpFrame({ ...common, srcPort: 1, dstPort: 53, payload: new Uint8Array(30) }), 'ipv4'],
    ['icmp', buildIcmpEchoFrame({ ...common, data: new Uint8Array(56) }), 'ipv4'],
    ['arp', buildArpFrame({ op: 2, srcMac: MAC_A, tha: MAC_B, spa: POD_A, tpa: POD_B }), 'arp'],
  ];
  const e = encapsulated(synFrame(), 7);
  frames.push(['vxlan', e.buf.slice(e.off, e.off + e.len), 'ipv4']);
  for (const [name, f, l3layer] of frames) {
    const full = dissectFrame(f);
    assert.equal(full.error, undefined, `${name}: ${JSON.stringify(full.error)}`);
    for (let len = 0; len < f.length; len++) {
      let tree: DissectedFrame = {};
      assert.doesNotThrow(() => {
        tree = dissectFrame(f, 0, len);
      });
      const err = tree.error;
      assert.ok(err && isParseFailure(err), `${name} len ${len}`);
      assert.equal(err.error, ParseErrorCode.Truncated, `${name} len ${len}`);
      assert.equal(err.layer, len < 14 ? 'ethernet' : l3layer, `${name} len ${len}`);
    }
  }
});

test('corrupted checksums are detected per layer; random bit flips never throw', () => {
  const syn = synFrame();
  const badL4 = syn.slice();
  badL4[syn.length - 1] ^= 0x40;
  assert.equal(dissectFrame(badL4).error?.layer, 'tcp');
  assert.equal(dissectFrame(badL4).error?.error, ParseErrorCode.BadChecksum);
  assert.equal(dissectFrame(badL4, 0, badL4.length, { verifyChecksums: false }).error, undefined);
  const badIp = syn.slice();
  badIp[14 + 8] = 1;
  assert.equal(dissectFrame(badIp).error?.layer, 'ipv4');
  assert.equal(dissectFrame(badIp).error?.error, ParseErrorCode.BadChecksum);
  const ping = buildIcmpEchoFrame({ ...common, data: new Uint8Array(8) });
  ping[40] ^= 1;
  assert.equal(dissectFrame(ping).error?.layer, 'icmpv4');

  const rng = new Rng(99);
  const e = encapsulated(synFrame(), 3);
  const samples = [syn, ping, e.buf.slice(e.off, e.off + e.len), buildUdpFrame({ ...common, srcPort: 9, dstPort: 8472, payload: new Uint8Array(30) })];
  for (let i = 0; i < 4000; i++) {
    const f = samples[i % samples.length].slice();
    const flips = 1 + rng.below(6);
    for (let k = 0; k < flips; k++) f[rng.below(f.length)] ^= 1 << rng.below(8);
    const tree = dissectFrame(f, 0, f.length, { verifyChecksums: rng.below(2) === 0 });
    assert.equal(typeof connectionSummary(tree), 'string');
    parseVxlanOuter(f, 0, f.length);
  }
});

test('pcap writer: nanosecond header, records, and reader round trip', () => {
  const f1 = synFrame();
  const f2 = buildUdpFrame({ ...common, srcPort: 1, dstPort: 2 });
  const bytes = pcapToBuffer([
    { ts: 1_700_000_000_123_456_789n, data: f1 },
    { ts: 1500.25, data: f2, origLen: 100 },
  ]);
  assert.deepEqual([...bytes.subarray(0, 24)], [
    0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x04, 0x00, 1, 0, 0, 0,
  ]);
  assert.equal(bytes.length, 24 + 16 + f1.length + 16 + f2.length);
  const r = readPcap(bytes);
  assert.ok(!isParseFailure(r));
  assert.equal(r.nanosecond, true);
  assert.equal(r.snaplen, 262144);
  assert.equal(r.linktype, 1);
  assert.equal(r.packets.length, 2);
  assert.equal(r.packets[0].tsNs, 1_700_000_000_123_456_789n);
  assert.deepEqual(r.packets[0].data, f1);
  assert.equal(r.packets[0].origLen, f1.length);
  assert.equal(r.packets[1].tsNs, 1_500_250_000n);
  assert.equal(r.packets[1].origLen, 100);
  // Snaplen cut.
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((c) => chunks.push(c), { snaplen: 20 });
  w.writePacket(0n, f1);
  const cut = readPcap(Uint8Array.from(chunks.flatMap((c) => [...c])));
  assert.ok(!isParseFailure(cut));
  assert.equal(cut.packets[0].data.length, 20);
  assert.equal(cut.packets[0].origLen, f1.length);
  const trunc = readPcap(bytes.subarray(0, bytes.length - 1));
  assert.ok(isParseFailure(trunc) && trunc.layer === 'pcap');
});

test('VXLAN constants', () => {
  assert.equal(VXLAN.HEADER_LEN, 8);
  assert.equal(VXLAN_PORT, 8472);
});
