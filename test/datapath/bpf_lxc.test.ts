// bpf_lxc in Cilium's BPF-test style: build a packet, seed the maps, run one
// program (cil_from_container or handle_policy), check the verdict, the bytes
// it leaves behind, the CT entries and the events. Expectations come from the
// reference (§1.3–1.5, §3, §6).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcAct, RedirectFlags } from '../../src/datapath/skb.js';
import { ObsPoint, CtState } from '../../src/datapath/trace.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { ETH } from '../../src/packet/ethernet.js';
import { ARP, ArpOp } from '../../src/packet/arp.js';
import { buildArpFrame } from '../../src/packet/build.js';
import { putPolicyEntry, upsertBackend, upsertService } from '../../src/datapath/map-writer.js';
import {
  Bench,
  CLIENT,
  SERVER,
  VIP,
  NODE2,
  NOW0,
  VXLAN_IFINDEX,
  TCP_ACK,
  TCP_SYN,
  TUPLE_IN,
  TUPLE_OUT,
  TUPLE_RELATED,
  TUPLE_SERVICE,
  assertKinds,
  ctKey,
  hex,
  ip,
  ipv4ChecksumOk,
  l4ChecksumOk,
  mac,
  readCt,
  rev,
  tcp,
  traces,
  u16,
  u32,
  verdicts,
  type Flow,
} from './fixture.js';

const IP_TTL = ETH.HEADER_LEN + 8;
const IP_SRC = ETH.HEADER_LEN + 12;
const IP_DST = ETH.HEADER_LEN + 16;
const L4 = ETH.HEADER_LEN + 20;

/** node1 with the client pod; the server pod lives on node2. */
function clientNode(cfg = {}) {
  const b = new Bench(1, cfg);
  const client = b.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity, enforce: PolicyDir.INGRESS | PolicyDir.EGRESS });
  // Egress: client may talk to the server on 8080/TCP. Ingress: enforced with no entries at all.
  putPolicyEntry(client.policy, { identity: SERVER.identity, egress: true, proto: IpProto.TCP, port: 8080 });
  b.addRemote(SERVER.ip, SERVER.identity, NODE2.ip);
  return { b, client };
}

const FLOW: Flow = { src: CLIENT.ip, dst: SERVER.ip, sport: 43210, dport: 8080 };

test('egress SYN to a remote pod: redirect to cilium_vxlan, VNI = source identity, to-overlay new, OUT + related CT entries', () => {
  const { b, client } = clientNode();
  const syn = tcp(FLOW, TCP_SYN);
  const r = b.fromContainer(client, syn);

  assert.equal(r.rc, TcAct.REDIRECT);
  assert.equal(r.ctx.redirectIfindex, VXLAN_IFINDEX);
  assert.equal(b.kernel.deviceName(r.ctx.redirectIfindex), 'cilium_vxlan');
  assert.equal(r.ctx.tunnelValid, true);
  assert.equal(r.ctx.tunnelId, CLIENT.identity, 'VNI = source security identity');
  assert.equal(r.ctx.tunnelRemoteIpv4 >>> 0, NODE2.ip, 'tunnel remote = node2');
  assert.equal(r.ctx.tunnelTtl, 64);
  // The inner packet is not routed here: bytes go to the VXLAN driver unchanged.
  assert.deepEqual(r.out, syn);

  // Egress enforcement on: a policy verdict (allow, L3-L4), then the to-overlay trace.
  assertKinds(r.events, ['policy-verdict', 'trace']);
  const [pv] = verdicts(r.events);
  assert.equal(pv.direction, PolicyDir.EGRESS);
  assert.equal(pv.remoteLabel, SERVER.identity);
  assert.equal(pv.verdict, 0);
  const [tr] = traces(r.events);
  assert.equal(tr.obsPoint, ObsPoint.TO_OVERLAY);
  assert.equal(tr.source, CLIENT.id);
  assert.equal(tr.srcLabel, CLIENT.identity);
  assert.equal(tr.dstLabel, SERVER.identity);
  assert.equal(tr.reason, CtState.NEW);
  assert.equal(tr.ifindex, VXLAN_IFINDEX);
  assert.notEqual(tr.hash, 0);
  assert.equal(
    b.line(tr),
    `-> overlay flow ${hex(tr.hash)} , identity 12345->23456 state new ifindex cilium_vxlan orig-ip 0.0.0.0: 10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN`,
  );
  assert.equal(
    b.line(pv),
    `Policy verdict log: flow ${hex(tr.hash)} local EP ID 1234, remote ID 23456, proto 6, egress, action allow, auth: disabled, match L3-L4, 10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN`,
  );

  // CT: "A SYN that has not yet been answered: TxFlagsSeen=0x02 … Flags=0x0000 [ ], expires = now+60".
  const out = readCt(b.dp.ct4, ctKey(CLIENT.ip, SERVER.ip, 43210, 8080, IpProto.TCP, TUPLE_OUT));
  assert.ok(out, 'TCP OUT entry in cilium_ct4_global');
  assert.equal(out.lifetime, NOW0 + 60);
  assert.equal(out.txFlagsSeen, 0x02);
  assert.equal(out.rxFlagsSeen, 0x00);
  assert.equal(out.flags, 0x0000);
  assert.equal(out.srcSecId, CLIENT.identity);
  assert.equal(out.revNat, 0, 'no per-packet LB: RevNAT=0');
  assert.equal(out.lastTxReport, NOW0);
  // The ICMP companion for errors about this flow, in the any map (reference §3.4 example).
  const related = readCt(b.dp.ctAny4, ctKey(CLIENT.ip, SERVER.ip, 0, 0, IpProto.ICMP, TUPLE_OUT | TUPLE_RELATED));
  assert.ok(related, 'ICMP OUT related entry in cilium_ct_any4_global');
  assert.equal(related.lifetime, NOW0 + 60);
  assert.equal(related.txFlagsSeen, 0x02);
  assert.equal(related.flags, 0x0000);
  assert.equal(related.srcSecId, CLIENT.identity);
  // Nothing else: no IN entry, no TCP entry under the reply tuple.
  assert.equal(b.dp.ct4.count, 1);
  assert.equal(b.dp.ctAny4.count, 1);
});

test('handshake: SYN-ACK through handle_policy is CT_REPLY (no policy, state reply); ACK moves the entry to the established timeout', () => {
  const { b, client } = clientNode();
  b.fromContainer(client, tcp(FLOW, TCP_SYN));
  const key = ctKey(CLIENT.ip, SERVER.ip, 43210, 8080, IpProto.TCP, TUPLE_OUT);

  b.advance(1);
  // The SYN-ACK as ipv4_local_delivery hands it over: from the tunnel, source identity from the VNI.
  const synAck = tcp({ ...rev(FLOW), srcMac: client.cfg.hostMac, dstMac: client.cfg.mac }, TCP_SYN | TCP_ACK);
  const r = b.toEndpoint(client, synAck, SERVER.identity);
  assert.equal(r.rc, TcAct.REDIRECT);
  assert.equal(r.ctx.redirectIfindex, client.cfg.ifindex);
  assert.equal(r.ctx.redirectFlags, RedirectFlags.PEER, 'bpf_redirect_peer into the pod');
  // Ingress enforcement is on with an empty policy: only CT_REPLY lets this through, and no verdict is logged.
  assertKinds(r.events, ['trace'], 'a reply is neither policy-checked nor verdict-logged');
  const [tr] = traces(r.events);
  assert.equal(tr.obsPoint, ObsPoint.TO_LXC);
  assert.equal(tr.reason, CtState.REPLY);
  assert.equal(tr.srcLabel, SERVER.identity);
  assert.equal(tr.dstLabel, CLIENT.identity);
  assert.equal(tr.dstId, CLIENT.id);
  assert.equal(tr.ifindex, client.cfg.ifindex);
  assert.equal(tr.origIp, SERVER.ip);
  assert.equal(
    b.line(tr),
    `-> endpoint 1234 flow ${hex(tr.hash)} , identity 23456->12345 state reply ifindex ${client.ifName} orig-ip 10.0.2.100: 10.0.2.100:8080 -> 10.0.1.50:43210 tcp SYN, ACK`,
  );
  let e = readCt(b.dp.ct4, key)!;
  assert.equal(e.rxFlagsSeen, 0x12, 'SYN|ACK seen in the reply direction');
  assert.equal(e.lifetime, NOW0 + 1 + 60, 'a SYN-ACK is still a SYN: SYN timeout');
  assert.equal(e.flags & 0x10, 0);
  assert.equal(readCt(b.dp.ct4, ctKey(SERVER.ip, CLIENT.ip, 8080, 43210, IpProto.TCP, TUPLE_IN)), undefined, 'no entry for the reply tuple');

  b.advance(1);
  const ack = b.fromContainer(client, tcp(FLOW, TCP_ACK));
  assert.equal(ack.rc, TcAct.REDIRECT);
  assert.equal(ack.ctx.tunnelId, CLIENT.identity);
  // Established, new flag in the tx direction: reported; the egress verdict is only logged for new flows.
  assertKinds(ack.events, ['trace']);
  assert.equal(traces(ack.events)[0].reason, CtState.ESTABLISHED);
  e = readCt(b.dp.ct4, key)!;
  assert.equal(e.lifetime, NOW0 + 2 + 8000, 'TCP lifetime after the first non-SYN');
  assert.equal(e.flags, 0x0010, 'SeenNonSyn');
  assert.equal(e.txFlagsSeen, 0x12);
  assert.equal(e.lastTxReport, NOW0 + 2);
});

test('same-node pod → pod: handle_policy of the destination via tail call, peer redirect, TTL and MACs rewritten, OUT and IN entries', () => {
  const b = new Bench(1);
  const a = b.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity });
  const dst = b.addEndpoint({ id: 1300, ip: ip('10.0.1.60'), identity: 34567 });
  const flow: Flow = { src: CLIENT.ip, dst: dst.cfg.ipv4, sport: 40000, dport: 80, srcMac: a.cfg.mac, dstMac: a.cfg.hostMac };
  const syn = tcp(flow, TCP_SYN);
  const r = b.fromContainer(a, syn);

  assert.equal(r.rc, TcAct.REDIRECT);
  assert.equal(r.ctx.redirectIfindex, dst.cfg.ifindex);
  assert.equal(r.ctx.redirectFlags, RedirectFlags.PEER);
  assert.equal(r.ctx.tunnelValid, false, 'no encapsulation on the same node');
  // ipv4_l3: TTL-1 with an incrementally fixed header checksum, MACs node → pod.
  assert.equal(r.out[IP_TTL], 63);
  assert.ok(ipv4ChecksumOk(r.out), 'IPv4 header checksum valid after the TTL decrement');
  assert.ok(l4ChecksumOk(r.out), 'TCP checksum untouched and valid');
  assert.equal(mac(r.out, ETH.DST), dst.cfg.mac);
  assert.equal(mac(r.out, ETH.SRC), dst.cfg.hostMac);
  assert.deepEqual(r.out.subarray(L4), syn.subarray(L4), 'L4 bytes unchanged');

  // Only the destination's to-endpoint: no to-overlay / to-stack on this path.
  assertKinds(r.events, ['trace']);
  const [tr] = traces(r.events);
  assert.equal(tr.obsPoint, ObsPoint.TO_LXC);
  assert.equal(tr.source, 1300);
  assert.equal(tr.dstId, 1300);
  assert.equal(tr.srcLabel, CLIENT.identity);
  assert.equal(tr.dstLabel, 34567);
  assert.equal(tr.reason, CtState.NEW);
  assert.equal(tr.origIp, CLIENT.ip);
  assert.equal(
    b.line(tr),
    `-> endpoint 1300 flow ${hex(tr.hash)} , identity 12345->34567 state new ifindex ${dst.ifName} orig-ip 10.0.1.50: 10.0.1.50:40000 -> 10.0.1.60:80 tcp SYN`,
  );

  // Both entries in this node's map; the IN one carries the sender's identity, not from a tunnel.
  const out = readCt(b.dp.ct4, ctKey(CLIENT.ip, dst.cfg.ipv4, 40000, 80, IpProto.TCP, TUPLE_OUT));
  const inn = readCt(b.dp.ct4, ctKey(CLIENT.ip, dst.cfg.ipv4, 40000, 80, IpProto.TCP, TUPLE_IN));
  assert.ok(out && inn, 'OUT and IN entries');
  assert.equal(out.srcSecId, CLIENT.identity);
  assert.equal(inn.srcSecId, CLIENT.identity);
  assert.equal(inn.flags & 0x400, 0, 'not FromTunnel');
  assert.equal(out.txFlagsSeen, 0x02);
  assert.equal(inn.rxFlagsSeen, 0x02);
  assert.equal(inn.lifetime, NOW0 + 60);
  assert.equal(b.dp.ct4.count, 2);

  // The reply from B is CT_REPLY on both sides and reaches A the same way.
  const back = b.fromContainer(dst, tcp({ ...rev(flow), srcMac: dst.cfg.mac, dstMac: dst.cfg.hostMac }, TCP_SYN | TCP_ACK));
  assert.equal(back.rc, TcAct.REDIRECT);
  assert.equal(back.ctx.redirectIfindex, a.cfg.ifindex);
  assert.equal(mac(back.out, ETH.DST), a.cfg.mac);
  assert.equal(traces(back.events).at(-1)!.reason, CtState.REPLY);
  assert.equal(b.dp.ct4.count, 2, 'replies create nothing');
});

test('ARP request for the gateway is answered with the veth MAC and sent back to the pod', () => {
  const b = new Bench(1);
  const a = b.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity });
  const gw = b.dp.cfg.routerIp;
  const req = buildArpFrame({ op: ArpOp.Request, srcMac: a.cfg.mac, spa: CLIENT.ip, tpa: gw });
  const r = b.fromContainer(a, req);
  assert.equal(r.rc, TcAct.REDIRECT);
  assert.equal(r.ctx.redirectIfindex, a.cfg.ifindex, 'back out of the same veth');
  const o = r.out;
  const arp = ETH.HEADER_LEN;
  assert.equal(mac(o, ETH.DST), a.cfg.mac);
  assert.equal(mac(o, ETH.SRC), a.cfg.hostMac);
  assert.equal(u16(o, ETH.ETHERTYPE), 0x0806);
  assert.equal(u16(o, arp + ARP.OPER), ArpOp.Reply);
  assert.equal(mac(o, arp + ARP.SHA), a.cfg.hostMac, 'the gateway is the lxc MAC');
  assert.equal(u32(o, arp + ARP.SPA), gw);
  assert.equal(mac(o, arp + ARP.THA), a.cfg.mac);
  assert.equal(u32(o, arp + ARP.TPA), CLIENT.ip);
  assert.equal(r.events.length, 0);

  // Any other address is answered the same way; a gratuitous ARP for its own IP is passed on.
  const other = b.fromContainer(a, buildArpFrame({ op: ArpOp.Request, srcMac: a.cfg.mac, spa: CLIENT.ip, tpa: ip('10.0.2.100') }));
  assert.equal(other.rc, TcAct.REDIRECT);
  assert.equal(mac(other.out, arp + ARP.SHA), a.cfg.hostMac);
  const own = b.fromContainer(a, buildArpFrame({ op: ArpOp.Request, srcMac: a.cfg.mac, spa: CLIENT.ip, tpa: CLIENT.ip }));
  assert.equal(own.rc, TcAct.OK);
});

test('per-packet LB (socket LB off): SYN to the ClusterIP is DNATed, SVC entry holds backend and RevNAT, the reply is reverse-NATed', () => {
  const { b, client } = clientNode({ socketLb: false });
  // Service 5: 10.96.100.10:80 → backend 7 = 10.0.2.100:8080 (lab scenario).
  upsertBackend(b.dp, { id: 7, addr: SERVER.ip, port: 8080, proto: IpProto.TCP });
  upsertService(b.dp, { vip: VIP, port: 80, revNatIndex: 5, backendIds: [7] });
  const toSvc: Flow = { src: CLIENT.ip, dst: VIP, sport: 43210, dport: 80 };
  const syn = tcp(toSvc, TCP_SYN);
  const r = b.fromContainer(client, syn);

  assert.equal(r.rc, TcAct.REDIRECT);
  assert.equal(r.ctx.redirectIfindex, VXLAN_IFINDEX);
  assert.equal(r.ctx.tunnelRemoteIpv4 >>> 0, NODE2.ip, 'routed by the backend address');
  assert.equal(u32(r.out, IP_DST), SERVER.ip, 'destination rewritten to the backend');
  assert.equal(u16(r.out, L4 + 2), 8080, 'destination port rewritten');
  assert.equal(u32(r.out, IP_SRC), CLIENT.ip);
  assert.equal(u16(r.out, L4), 43210);
  assert.equal(r.out[IP_TTL], 64);
  assert.ok(ipv4ChecksumOk(r.out), 'IPv4 checksum after DNAT');
  assert.ok(l4ChecksumOk(r.out), 'TCP checksum after DNAT');
  const [tr] = traces(r.events);
  assert.equal(b.line(tr), `-> overlay flow ${hex(tr.hash)} , identity 12345->23456 state new ifindex cilium_vxlan orig-ip 0.0.0.0: 10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN`);

  // "TCP SVC 10.0.1.50:43210 -> 10.96.100.10:80 … RevNAT=5 SourceSecurityID=0 … BackendID=7"
  const svc = readCt(b.dp.ct4, ctKey(CLIENT.ip, VIP, 43210, 80, IpProto.TCP, TUPLE_SERVICE));
  assert.ok(svc, 'SVC entry');
  assert.equal(svc.backendId, 7);
  assert.equal(svc.revNat, 5);
  assert.equal(svc.srcSecId, 0);
  // "TCP OUT 10.0.1.50:43210 -> 10.0.2.100:8080 … RevNAT=5 SourceSecurityID=12345"
  const out = readCt(b.dp.ct4, ctKey(CLIENT.ip, SERVER.ip, 43210, 8080, IpProto.TCP, TUPLE_OUT));
  assert.ok(out, 'OUT entry keyed by the backend');
  assert.equal(out.revNat, 5);
  assert.equal(out.srcSecId, CLIENT.identity);
  assert.equal(readCt(b.dp.ctAny4, ctKey(CLIENT.ip, SERVER.ip, 0, 0, IpProto.ICMP, TUPLE_OUT | TUPLE_RELATED))?.revNat, 5);

  // The backend answers from its own address; handle_policy shows the frontend to the client.
  const synAck = tcp({ src: SERVER.ip, dst: CLIENT.ip, sport: 8080, dport: 43210, srcMac: client.cfg.hostMac, dstMac: client.cfg.mac }, TCP_SYN | TCP_ACK);
  const back = b.toEndpoint(client, synAck, SERVER.identity);
  assert.equal(back.rc, TcAct.REDIRECT);
  assert.equal(back.ctx.redirectIfindex, client.cfg.ifindex);
  assert.equal(u32(back.out, IP_SRC), VIP, 'source is the ClusterIP again');
  assert.equal(u16(back.out, L4), 80, 'source port is the service port again');
  assert.equal(u32(back.out, IP_DST), CLIENT.ip);
  assert.equal(u16(back.out, L4 + 2), 43210);
  assert.ok(ipv4ChecksumOk(back.out), 'IPv4 checksum after reverse NAT');
  assert.ok(l4ChecksumOk(back.out), 'TCP checksum after reverse NAT');
  assertKinds(back.events, ['trace']);
  assert.equal(traces(back.events)[0].reason, CtState.REPLY);

  // The next packet of the flow sticks to the backend in the SVC entry.
  const ack = b.fromContainer(client, tcp(toSvc, TCP_ACK));
  assert.equal(ack.rc, TcAct.REDIRECT);
  assert.equal(u32(ack.out, IP_DST), SERVER.ip);
  assert.ok(l4ChecksumOk(ack.out));
  assert.equal(b.dp.ct4.count, 2, 'SVC + OUT, nothing new');
});
