// Cross-checks our bytes with Wireshark's dissectors (tshark), checksums on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TcpFlags,
  VXLAN_ENCAP_OVERHEAD,
  buildFrameWithHeadroom,
  buildIcmpEchoFrame,
  buildTcpFrame,
  buildUdpFrame,
  DnsClass,
  DnsRcode,
  DnsType,
  dnsQuery,
  dnsResponseFor,
  emitDns,
  vxlanFlowSourcePort,
  writePcapFile,
  writeVxlanEncap,
} from '../../src/packet/index.js';
import { tsharkAvailable, tsharkDecode, tsharkField, tsharkLayers } from '../helpers/tshark.js';

const SKIP = tsharkAvailable() ? false : 'tshark not installed (Debian package tshark)';

const POD_A = 0x0a000132; // 10.0.1.50
const POD_B = 0x0a000264; // 10.0.2.100
const DNS_SVC = 0x0a60000a; // 10.96.0.10
const NODE_1 = 0xc0a8010b; // 192.168.1.11
const NODE_2 = 0xc0a8010c; // 192.168.1.12
const VNI = 12345;

/** A DNS query written byte by byte (independent of our DNS codec). */
function handDnsQuery(): Uint8Array {
  const name = 'webpod.default.svc.cluster.local';
  const out = [0x1a, 0x2b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of name.split('.')) {
    out.push(label.length, ...Array.from(label, (c) => c.charCodeAt(0)));
  }
  out.push(0, 0, 1, 0, 1);
  return Uint8Array.from(out);
}

function buildCapture(): { ts: bigint; data: Uint8Array }[] {
  const common = { srcMac: 0xce381f4b21dd, dstMac: 0xface3cde8bf8, srcIp: POD_A };
  const syn = buildTcpFrame({
    ...common,
    dstIp: POD_B,
    srcPort: 43210,
    dstPort: 8080,
    flags: TcpFlags.SYN,
    seq: 0x12345678,
    ident: 0x4d2,
    options: { mss: 1410, sackPermitted: true, timestamp: { value: 3_000_000_000, echo: 0 }, windowScale: 7 },
  });
  const h = buildFrameWithHeadroom(syn);
  const off = h.off - VXLAN_ENCAP_OVERHEAD;
  writeVxlanEncap(h.buf, off, h.len, {
    srcMac: 0x0242c0a8010b,
    dstMac: 0x0242c0a8010c,
    srcIp: NODE_1,
    dstIp: NODE_2,
    srcPort: vxlanFlowSourcePort(0xc0ffee11),
    vni: VNI,
    ident: 77,
  });
  const vxlanFrame = h.buf.slice(off, off + h.len + VXLAN_ENCAP_OVERHEAD);
  const dns = buildUdpFrame({ ...common, dstIp: DNS_SVC, srcPort: 53001, dstPort: 53, payload: handDnsQuery() });
  const ping = buildIcmpEchoFrame({ ...common, dstIp: POD_B, echoIdent: 0x77, seq: 1, data: new Uint8Array(56).map((_, i) => i) });
  // A response from our own DNS codec, with compression pointers and a CNAME.
  const resp = dnsResponseFor(dnsQuery(0x1a2b, 'web.demo.svc.cluster.local'), DnsRcode.NOERROR, [
    { name: 'web.demo.svc.cluster.local', type: DnsType.CNAME, class: DnsClass.IN, ttl: 30, data: 'webpod.demo.svc.cluster.local' },
    { name: 'webpod.demo.svc.cluster.local', type: DnsType.A, class: DnsClass.IN, ttl: 30, data: POD_B },
  ]);
  const dnsResp = buildUdpFrame({ srcMac: 0xface3cde8bf8, dstMac: 0xce381f4b21dd, srcIp: DNS_SVC, dstIp: POD_A, srcPort: 53, dstPort: 53001, payload: emitDns(resp) });
  const t0 = 1_765_535_445_123_456_789n;
  return [
    { ts: t0, data: vxlanFrame },
    { ts: t0 + 1_000n, data: dns },
    { ts: t0 + 2_000n, data: ping },
    { ts: t0 + 3_000n, data: dnsResp },
  ];
}

test('tshark decodes our VXLAN/TCP SYN, DNS query and ICMP echo without complaint', { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podpath-tshark-'));
  try {
    const path = join(dir, 'capture.pcap');
    writePcapFile(path, buildCapture());
    const { json, text } = tsharkDecode(path);
    assert.equal(json.length, 4);

    // Frame 1: outer Eth/IPv4/UDP 8472/VXLAN, inner Eth/IPv4/TCP SYN.
    const f1 = json[0];
    assert.equal(tsharkField(f1, 'frame.protocols'), 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp');
    assert.equal(tsharkField(f1, 'frame.time_epoch'), '1765535445.123456789');
    const [outerIp, innerIp] = tsharkLayers(f1, 'ip');
    assert.equal(tsharkField(outerIp, 'ip.src'), '192.168.1.11');
    assert.equal(tsharkField(outerIp, 'ip.dst'), '192.168.1.12');
    assert.equal(tsharkField(outerIp, 'ip.id'), '0x004d');
    // tshark's checksum status enum: 0 Bad, 1 Good, 2 Unverified, 3 Not present.
    assert.equal(tsharkField(outerIp, 'ip.checksum.status'), '1');
    const udp = tsharkLayers(f1, 'udp')[0];
    assert.equal(tsharkField(udp, 'udp.dstport'), '8472');
    assert.equal(tsharkField(udp, 'udp.srcport'), String(vxlanFlowSourcePort(0xc0ffee11)));
    assert.equal(tsharkField(udp, 'udp.checksum.status'), '3', 'outer UDP checksum 0 = not present');
    const vxlan = tsharkLayers(f1, 'vxlan')[0];
    assert.equal(tsharkField(vxlan, 'vxlan.vni'), String(VNI));
    assert.equal(tsharkField(vxlan, 'vxlan.flag_i'), '1');
    assert.equal(tsharkField(innerIp, 'ip.src'), '10.0.1.50');
    assert.equal(tsharkField(innerIp, 'ip.dst'), '10.0.2.100');
    assert.equal(tsharkField(innerIp, 'ip.ttl'), '64');
    assert.equal(tsharkField(innerIp, 'ip.flags.df'), '1');
    assert.equal(tsharkField(innerIp, 'ip.checksum.status'), '1');
    const tcp = tsharkLayers(f1, 'tcp')[0];
    assert.equal(tsharkField(tcp, 'tcp.srcport'), '43210');
    assert.equal(tsharkField(tcp, 'tcp.dstport'), '8080');
    assert.equal(tsharkField(tcp, 'tcp.seq_raw'), String(0x12345678));
    assert.equal(tsharkField(tcp, 'tcp.flags'), '0x0002');
    assert.equal(tsharkField(tcp, 'tcp.hdr_len'), '40');
    assert.equal(tsharkField(tcp, 'tcp.window_size_value'), '64240');
    assert.equal(tsharkField(tcp, 'tcp.checksum.status'), '1');
    assert.equal(tsharkField(tcp, 'tcp.options.mss_val'), '1410');
    assert.equal(tsharkField(tcp, 'tcp.options.wscale.shift'), '7');
    assert.equal(tsharkField(tcp, 'tcp.options.timestamp.tsval'), '3000000000');
    assert.ok(tsharkField(tcp, 'tcp.options.sack_perm') !== undefined, 'SACK permitted present');

    // Frame 2: DNS query.
    const f2 = json[1];
    assert.equal(tsharkField(f2, 'frame.protocols'), 'eth:ethertype:ip:udp:dns');
    assert.equal(tsharkField(f2, 'udp.checksum.status'), '1');
    assert.equal(tsharkField(f2, 'dns.qry.name'), 'webpod.default.svc.cluster.local');
    assert.equal(tsharkField(f2, 'dns.qry.type'), '1');
    assert.equal(tsharkField(f2, 'dns.id'), '0x1a2b');

    // Frame 3: ICMP echo request.
    const f3 = json[2];
    assert.equal(tsharkField(f3, 'icmp.type'), '8');
    assert.equal(tsharkField(f3, 'icmp.ident'), '119');
    assert.equal(tsharkField(f3, 'icmp.checksum.status'), '1');
    assert.equal(tsharkField(f3, 'ip.checksum.status'), '1');

    // Frame 4: DNS response written by emitDns (compressed names).
    const f4 = json[3];
    assert.equal(tsharkField(f4, 'dns.flags.response'), '1');
    assert.equal(tsharkField(f4, 'dns.flags.rcode'), '0');
    assert.equal(tsharkField(f4, 'dns.count.answers'), '2');
    assert.equal(tsharkField(f4, 'dns.cname'), 'webpod.demo.svc.cluster.local');
    assert.equal(tsharkField(f4, 'dns.a'), '10.0.2.100');
    assert.equal(tsharkField(f4, 'udp.checksum.status'), '1');

    const all = JSON.stringify(json);
    assert.ok(!all.includes('_ws.malformed'), 'no malformed packet');
    assert.ok(!/Malformed/i.test(text), 'no "Malformed" in the -V output');
    assert.ok(!/\[(incorrect|Bad)/i.test(text), 'no bad checksum in the -V output');
    assert.match(text, /VXLAN Network Identifier \(VNI\): 12345/);
    assert.match(text, /Maximum segment size: 1410 bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
