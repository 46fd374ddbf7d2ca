// Every drop carries Cilium's code and text (reference §1.6, §5, §6.2): the
// drop event's reason, dropReasonText(), the `cilium monitor` line, the
// skb's drop reason and the cilium_metrics counter. Plus audit mode and the
// policy map precedence of reference §2 with the match type in the verdict.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcAct, RedirectFlags } from '../../src/datapath/skb.js';
import { ObsPoint, CtState } from '../../src/datapath/trace.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { MetricsDir } from '../../src/datapath/maps.js';
import { dropReasonText, isKnownDropReason } from '../../src/datapath/drop.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { ETH } from '../../src/packet/ethernet.js';
import { putPolicyEntry, upsertService, type PolicyEntrySpec } from '../../src/datapath/map-writer.js';
import { DEFAULT_MAP_SIZES } from '../../src/datapath/maps.js';
import { CallSlot } from '../../src/datapath/sim/calls.js';
import { EHOSTUNREACH } from '../../src/datapath/sim/bpf_sock.js';
import { World } from '../helpers/world.js';
import {
  Bench,
  CLIENT,
  SERVER,
  VIP,
  NODE2,
  VXLAN_IFINDEX,
  TCP_SYN,
  assertKinds,
  drops,
  fixIpChecksum,
  hex,
  ip,
  ipv4ChecksumOk,
  l4ChecksumOk,
  mac,
  tcp,
  traces,
  u16,
  u32,
  udp,
  verdicts,
  type Flow,
  type RunResult,
} from './fixture.js';

const FLOW: Flow = { src: CLIENT.ip, dst: SERVER.ip, sport: 43210, dport: 8080 };
const CONN = '10.0.1.50:43210 -> 10.0.2.100:8080 tcp SYN';

interface ExpectedDrop {
  /** The monitor's text when an extended error is appended (`<text>, <ext>`). */
  monitorText?: string;
  code: number;
  text: string;
  /** `to endpoint N` */
  dstId: number;
  file: string;
  line?: number;
  src: string;
  dst: string;
  ifindex: number;
  conn?: string;
  metricDir?: number;
}

/** One SHOT with one drop event, as the monitor prints it, counted once in cilium_metrics. */
function expectDrop(b: Bench, r: RunResult, e: ExpectedDrop): void {
  assert.equal(r.rc, TcAct.SHOT, 'TC_ACT_SHOT');
  assert.equal(r.ctx.dropReason, e.code, 'skb drop reason');
  const ds = drops(r.events);
  assert.equal(ds.length, 1, 'exactly one drop event');
  const d = ds[0];
  assert.equal(d.reason, e.code);
  assert.ok(isKnownDropReason(d.reason));
  assert.equal(dropReasonText(d.reason), e.text);
  assert.equal(d.dstId, e.dstId);
  assert.equal(d.ifindex, e.ifindex);
  const line = b.line(d);
  const fileLine = e.line === undefined ? `${e.file}:\\d+` : `${e.file}:${e.line}`;
  const conn = e.conn ?? CONN;
  const re = new RegExp(
    `^xx drop \\(${esc(e.monitorText ?? e.text)}\\) flow 0x[0-9a-f]+ to endpoint ${e.dstId}, ifindex ${e.ifindex}, file ${fileLine}, , identity ${e.src}->${e.dst}: ${esc(conn)}$`,
  );
  assert.match(line, re);
  assert.equal(b.metric(e.code), 1, 'cilium_metrics counts the drop under its reason');
  if (e.metricDir !== undefined) assert.equal(b.metric(e.code, { dir: e.metricDir }), 1, 'metrics direction');
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** node2 with the server endpoint enforcing ingress policy; the client is remote on node1. */
function serverNode(cfg = {}) {
  const b = new Bench(2, cfg);
  const server = b.addEndpoint({ id: SERVER.id, ip: SERVER.ip, identity: SERVER.identity, enforce: PolicyDir.INGRESS, ifindex: 9 });
  b.addRemote(CLIENT.ip, CLIENT.identity, ip('192.168.1.11'));
  return { b, server };
}

/** node1 with the client endpoint enforcing egress policy; the server is remote on node2. */
function clientNode(cfg = {}, enforce: number = PolicyDir.EGRESS) {
  const b = new Bench(1, cfg);
  const client = b.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity, enforce, ifindex: 14 });
  b.addRemote(SERVER.ip, SERVER.identity, NODE2.ip);
  return { b, client };
}

test('ingress: no allow entry → 133 Policy denied, to endpoint <EPID>, with a deny verdict (match none)', () => {
  const { b } = serverNode();
  // The whole receive side: cil_from_overlay → local delivery → tail call into handle_policy.
  const r = b.fromOverlay(tcp(FLOW, TCP_SYN), CLIENT.identity);
  expectDrop(b, r, { code: 133, text: 'Policy denied', dstId: SERVER.id, file: 'bpf_lxc.c', line: 2063, src: '12345', dst: '23456', ifindex: VXLAN_IFINDEX, metricDir: MetricsDir.INGRESS });
  assertKinds(r.events, ['policy-verdict', 'drop']);
  const [pv] = verdicts(r.events);
  const d = drops(r.events)[0];
  assert.equal(pv.hash, d.hash);
  assert.equal(
    b.line(pv),
    `Policy verdict log: flow ${hex(pv.hash)} local EP ID 2345, remote ID 12345, proto 6, ingress, action deny, auth: disabled, match none, ${CONN}`,
  );
  assert.equal(b.line(d), `xx drop (Policy denied) flow ${hex(d.hash)} to endpoint 2345, ifindex 5, file bpf_lxc.c:2063, , identity 12345->23456: ${CONN}`);
  assert.equal(b.dp.ct4.count, 0, 'a denied packet creates no CT entry');
});

test('egress: no allow entry → 133 Policy denied, to endpoint 0', () => {
  const { b, client } = clientNode();
  const r = b.fromContainer(client, tcp(FLOW, TCP_SYN));
  expectDrop(b, r, { code: 133, text: 'Policy denied', dstId: 0, file: 'bpf_lxc.c', line: 1274, src: '12345', dst: '23456', ifindex: 14, metricDir: MetricsDir.EGRESS });
  const d = drops(r.events)[0];
  assert.equal(b.line(d), `xx drop (Policy denied) flow ${hex(d.hash)} to endpoint 0, ifindex 14, file bpf_lxc.c:1274, , identity 12345->23456: ${CONN}`);
  const [pv] = verdicts(r.events);
  assert.equal(pv.direction, PolicyDir.EGRESS);
  assert.ok(b.line(pv).includes('egress, action deny, auth: disabled, match none'));
  assert.equal(b.dp.ct4.count, 0);
});

test('explicit deny entry → 181 Policy denied by denylist (ingress and egress)', () => {
  const s = serverNode();
  putPolicyEntry(s.server.policy, { identity: CLIENT.identity, egress: false, proto: IpProto.TCP, port: 8080, deny: true });
  const r = s.b.fromOverlay(tcp(FLOW, TCP_SYN), CLIENT.identity);
  expectDrop(s.b, r, { code: 181, text: 'Policy denied by denylist', dstId: SERVER.id, file: 'bpf_lxc.c', line: 2063, src: '12345', dst: '23456', ifindex: VXLAN_IFINDEX });
  assert.ok(s.b.line(verdicts(r.events)[0]).includes('ingress, action deny, auth: disabled, match L3-L4'));

  const c = clientNode();
  putPolicyEntry(c.client.policy, { identity: SERVER.identity, egress: true, proto: IpProto.TCP, port: 0, deny: true });
  const e = c.b.fromContainer(c.client, tcp(FLOW, TCP_SYN));
  expectDrop(c.b, e, { code: 181, text: 'Policy denied by denylist', dstId: 0, file: 'bpf_lxc.c', line: 1274, src: '12345', dst: '23456', ifindex: 14 });
  assert.ok(c.b.line(verdicts(e.events)[0]).includes('egress, action deny, auth: disabled, match L3-Proto'));
});

test('spoofed source IP → 132 Invalid source ip', () => {
  const { b, client } = clientNode({}, 0);
  const r = b.fromContainer(client, tcp({ ...FLOW, src: ip('10.0.1.99') }, TCP_SYN));
  expectDrop(b, r, { code: 132, text: 'Invalid source ip', dstId: 0, file: 'bpf_lxc.c', src: '12345', dst: 'unknown', ifindex: 14, conn: '10.0.1.99:43210 -> 10.0.2.100:8080 tcp SYN' });
  assert.equal(b.dp.ct4.count, 0);
});

test('service without backends: drop → 158; reject → ICMP port unreachable to the pod; socket LB → connect() EHOSTUNREACH', () => {
  const toSvc: Flow = { src: CLIENT.ip, dst: VIP, sport: 43210, dport: 80 };
  const svcConn = '10.0.1.50:43210 -> 10.96.100.10:80 tcp SYN';

  const drop = clientNode({ socketLb: false, noBackendResponse: 'drop' }, 0);
  upsertService(drop.b.dp, { vip: VIP, port: 80, revNatIndex: 5, backendIds: [] });
  const r = drop.b.fromContainer(drop.client, tcp(toSvc, TCP_SYN));
  expectDrop(drop.b, r, { code: 158, text: 'Service backend not found', dstId: 0, file: 'bpf_lxc.c', src: '12345', dst: 'unknown', ifindex: 14, conn: svcConn });

  const rej = clientNode({ socketLb: false, noBackendResponse: 'reject' }, 0);
  upsertService(rej.b.dp, { vip: VIP, port: 80, revNatIndex: 5, backendIds: [] });
  const syn = tcp(toSvc, TCP_SYN);
  const x = rej.b.fromContainer(rej.client, syn);
  assert.equal(x.rc, TcAct.REDIRECT);
  assert.equal(x.ctx.redirectIfindex, rej.client.cfg.ifindex, 'answered back into the pod');
  assert.equal(drops(x.events).length, 0);
  const o = x.out;
  const l3 = ETH.HEADER_LEN;
  assert.equal(mac(o, ETH.DST), rej.client.cfg.mac);
  assert.equal(mac(o, ETH.SRC), rej.client.cfg.hostMac);
  assert.equal(o[l3 + 9], IpProto.ICMP);
  assert.equal(u32(o, l3 + 12), VIP, 'from the frontend');
  assert.equal(u32(o, l3 + 16), CLIENT.ip);
  assert.ok(ipv4ChecksumOk(o));
  assert.ok(l4ChecksumOk(o), 'ICMP checksum');
  const icmp = l3 + 20;
  assert.equal(o[icmp], 3, 'Destination Unreachable');
  assert.equal(o[icmp + 1], 3, 'Port Unreachable');
  // The quote: the SYN's IPv4 header and first 8 bytes of TCP, as sent.
  assert.deepEqual(o.subarray(icmp + 8, icmp + 8 + 28), syn.subarray(l3, l3 + 28));
  assert.equal(u16(o, l3 + 2), o.length - l3, 'total length matches the frame');

  const w = new World({ immediate: true });
  w.addService('10.96.100.10', 80, []);
  const k = w.nodes[0].kernel;
  const ctx = { userIp4: VIP, userPort: 80, protocol: IpProto.TCP, socketCookie: 4097, netnsCookie: 1, srcIp4: CLIENT.ip };
  assert.equal(k.sock.cil_sock4_connect(ctx), -EHOSTUNREACH);
  assert.equal(EHOSTUNREACH, 113);
  assert.equal(ctx.userIp4, VIP, 'address left alone');
});

test('full CT map (hash, no LRU eviction) → 155 CT: Map insertion failed', () => {
  const { b, client } = clientNode({ ctMapType: 'hash', mapSizes: { ...DEFAULT_MAP_SIZES, ctTcp: 2 } }, 0);
  for (const sport of [40001, 40002]) {
    assert.equal(b.fromContainer(client, tcp({ ...FLOW, sport }, TCP_SYN)).rc, TcAct.REDIRECT);
  }
  assert.equal(b.dp.ct4.count, 2);
  const r = b.fromContainer(client, tcp({ ...FLOW, sport: 40003 }, TCP_SYN));
  expectDrop(b, r, { code: 155, text: 'CT: Map insertion failed', monitorText: 'CT: Map insertion failed, -7', dstId: 0, file: 'bpf_lxc.c', src: '12345', dst: '23456', ifindex: 14, conn: '10.0.1.50:40003 -> 10.0.2.100:8080 tcp SYN' });
  // Existing connections still pass.
  assert.equal(b.fromContainer(client, tcp({ ...FLOW, sport: 40001 }, 0x10)).rc, TcAct.REDIRECT);
});

test('cil_from_overlay: no tunnel key → 147; VNI = host (1) → 171 Invalid identity', () => {
  const { b } = serverNode();
  putPolicyEntry(b.eps.get(SERVER.id)!.policy, { identity: 0, egress: false, proto: 0, port: 0 });
  const r = b.fromOverlay(tcp(FLOW, TCP_SYN), null);
  expectDrop(b, r, { code: 147, text: 'Error retrieving tunnel key', dstId: 0, file: 'bpf_overlay.c', src: 'unknown', dst: 'unknown', ifindex: VXLAN_IFINDEX, metricDir: MetricsDir.INGRESS });

  const b2 = serverNode().b;
  const h = b2.fromOverlay(tcp(FLOW, TCP_SYN), 1);
  expectDrop(b2, h, { code: 171, text: 'Invalid identity', dstId: 0, file: 'bpf_overlay.c', src: 'host', dst: 'unknown', ifindex: VXLAN_IFINDEX });
});

test('malformed packets from a pod: fragment → 157, IPv6 → 139, truncated → 134', () => {
  const { b, client } = clientNode({}, 0);
  // A first fragment (MF set) of a UDP datagram.
  const frag = udp({ src: CLIENT.ip, dst: SERVER.ip, sport: 5000, dport: 53 });
  frag[ETH.HEADER_LEN + 6] = 0x20;
  frag[ETH.HEADER_LEN + 7] = 0;
  fixIpChecksum(frag);
  const f = b.fromContainer(client, frag);
  expectDrop(b, f, { code: 157, text: 'IP fragmentation not supported', dstId: 0, file: 'bpf_lxc.c', src: '12345', dst: 'unknown', ifindex: 14, conn: '10.0.1.50 -> 10.0.2.100' });

  const b6 = clientNode({}, 0);
  const v6 = new Uint8Array(14 + 40);
  v6.set([0x33, 0x33, 0, 0, 0, 1], 0);
  v6.set([0x0e, 0, 0, 0, 0, 1], 6);
  v6[12] = 0x86;
  v6[13] = 0xdd;
  v6[14] = 0x60;
  const s = b6.b.fromContainer(b6.client, v6);
  assert.equal(s.rc, TcAct.SHOT);
  assert.equal(s.ctx.dropReason, 139);
  const d6 = drops(s.events);
  assert.equal(d6.length, 1);
  assert.equal(dropReasonText(d6[0].reason), 'Unsupported L3 protocol');
  assert.match(b6.b.line(d6[0]), /^xx drop \(Unsupported L3 protocol\) flow 0x0 to endpoint 0, ifindex 14, file bpf_lxc\.c:\d+, , identity 12345->unknown: /);
  assert.equal(b6.b.metric(139), 1);

  const bt = clientNode({}, 0);
  const whole = tcp(FLOW, TCP_SYN);
  const t = bt.b.fromContainer(bt.client, whole.slice(0, 30));
  assert.equal(t.rc, TcAct.SHOT);
  assert.equal(t.ctx.dropReason, 134);
  assert.equal(dropReasonText(drops(t.events)[0].reason), 'Invalid packet');
  assert.match(bt.b.line(drops(t.events)[0]), /^xx drop \(Invalid packet\) flow 0x0 to endpoint 0, ifindex 14, file bpf_lxc\.c:\d+, , identity 12345->unknown: /);
  // Shorter than an Ethernet header.
  const t2 = bt.b.fromContainer(bt.client, whole.slice(0, 10));
  assert.equal(t2.rc, TcAct.SHOT);
  assert.equal(t2.ctx.dropReason, 134);
  assert.equal(drops(t2.events).length, 1);
  assert.equal(bt.b.metric(134), 2);
});

test("destination endpoint's handle_policy missing → 203; missing tail-call slot → 140 Missed tail call", () => {
  const b = new Bench(1);
  const a = b.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity, ifindex: 14 });
  const dst = b.addEndpoint({ id: 1300, ip: ip('10.0.1.60'), identity: 34567 });
  b.dp.callPolicy.delete(1300);
  const flow: Flow = { src: CLIENT.ip, dst: dst.cfg.ipv4, sport: 40000, dport: 80 };
  const r = b.fromContainer(a, tcp(flow, TCP_SYN));
  expectDrop(b, r, { code: 203, text: 'Endpoint policy program not available', dstId: 1300, file: 'bpf_lxc.c', src: '12345', dst: '34567', ifindex: 14, conn: '10.0.1.50:40000 -> 10.0.1.60:80 tcp SYN' });

  // The same from the overlay: bpf_overlay.c reports it.
  const o = b.fromOverlay(tcp({ src: SERVER.ip, dst: dst.cfg.ipv4, sport: 8080, dport: 80 }, TCP_SYN), SERVER.identity);
  assert.equal(o.rc, TcAct.SHOT);
  assert.equal(o.ctx.dropReason, 203);
  assert.match(b.line(drops(o.events)[0]), /^xx drop \(Endpoint policy program not available\) flow 0x[0-9a-f]+ to endpoint 1300, ifindex 5, file bpf_overlay\.c:\d+, , identity 23456->34567: /);

  const b2 = new Bench(1);
  const c = b2.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity, ifindex: 14 });
  b2.addRemote(SERVER.ip, SERVER.identity, NODE2.ip);
  c.prog.calls.delete(CallSlot.IPV4_CT_EGRESS);
  const m = b2.fromContainer(c, tcp(FLOW, TCP_SYN));
  assert.equal(m.rc, TcAct.SHOT);
  assert.equal(m.ctx.dropReason, 140);
  const [d] = drops(m.events);
  assert.equal(drops(m.events).length, 1);
  assert.equal(dropReasonText(d.reason), 'Missed tail call');
  assert.match(b2.line(d), /^xx drop \(Missed tail call\) flow 0x[0-9a-f]+ to endpoint 0, ifindex 14, file bpf_lxc\.c:\d+, , identity 12345->unknown: 10\.0\.1\.50:43210 -> 10\.0\.2\.100:8080 tcp SYN$/);
  assert.equal(b2.metric(140), 1);
  assert.equal(b2.dp.ct4.count, 0);
});

test('policy audit mode: the verdict is logged as audit and the packet is forwarded', () => {
  const { b, server } = serverNode({ policyAuditMode: true });
  const r = b.fromOverlay(tcp(FLOW, TCP_SYN), CLIENT.identity);
  assert.equal(r.rc, TcAct.REDIRECT);
  assert.equal(r.ctx.redirectIfindex, server.cfg.ifindex);
  assert.equal(r.ctx.redirectFlags, RedirectFlags.PEER);
  assert.equal(r.ctx.dropReason, 0);
  assertKinds(r.events, ['policy-verdict', 'trace']);
  const [pv] = verdicts(r.events);
  assert.equal(pv.audited, true);
  assert.equal(b.line(pv), `Policy verdict log: flow ${hex(pv.hash)} local EP ID 2345, remote ID 12345, proto 6, ingress, action audit, auth: disabled, match none, ${CONN}`);
  const [tr] = traces(r.events);
  assert.equal(tr.obsPoint, ObsPoint.TO_LXC);
  assert.equal(tr.reason, CtState.NEW);
  assert.equal(b.metric(133), 0, 'nothing counted as dropped');

  // Egress as well.
  const c = clientNode({ policyAuditMode: true });
  const e = c.b.fromContainer(c.client, tcp(FLOW, TCP_SYN));
  assert.equal(e.rc, TcAct.REDIRECT);
  assert.ok(c.b.line(verdicts(e.events)[0]).includes('egress, action audit, auth: disabled, match none'));
});

// Reference §2: id/proto/port (L3-L4) > ANY/proto/port (L4-Only) > id/proto/ANY (L3-Proto)
// > ANY/proto/ANY (Proto-Only) > id/ANY/ANY (L3-Only) > ANY/ANY/ANY (all); a deny at the winner drops (181).
const ID = CLIENT.identity;
const e = (identity: number, proto: number, port: number, deny = false): Omit<PolicyEntrySpec, 'egress'> => ({ identity, proto, port, deny });
const PRECEDENCE: { name: string; entries: Omit<PolicyEntrySpec, 'egress'>[]; match: string; drop?: number }[] = [
  { name: 'L3-L4 beats L4-Only', entries: [e(ID, 6, 8080), e(0, 6, 8080, true)], match: 'L3-L4' },
  { name: 'L4-Only beats L3-Proto', entries: [e(0, 6, 8080), e(ID, 6, 0, true)], match: 'L4-Only' },
  { name: 'L4-Only beats L3-Only', entries: [e(0, 6, 8080), e(ID, 0, 0, true)], match: 'L4-Only' },
  { name: 'L3-Proto beats Proto-Only', entries: [e(ID, 6, 0), e(0, 6, 0, true)], match: 'L3-Proto' },
  { name: 'Proto-Only beats L3-Only', entries: [e(0, 6, 0), e(ID, 0, 0, true)], match: 'Proto-Only' },
  { name: 'L3-Only beats all', entries: [e(ID, 0, 0), e(0, 0, 0, true)], match: 'L3-Only' },
  { name: 'all alone', entries: [e(0, 0, 0)], match: 'all' },
  { name: 'deny at the L3-L4 winner', entries: [e(ID, 6, 8080, true), e(0, 0, 0)], match: 'L3-L4', drop: 181 },
  { name: 'deny at the L4-Only winner', entries: [e(0, 6, 8080, true), e(ID, 0, 0)], match: 'L4-Only', drop: 181 },
  { name: 'other port, other protocol, other identity: no match', entries: [e(ID, 6, 9090), e(ID, 17, 0), e(99999, 0, 0)], match: 'none', drop: 133 },
];

for (const dir of ['ingress', 'egress'] as const) {
  for (const c of PRECEDENCE) {
    test(`policy precedence (${dir}): ${c.name} → match ${c.match}`, () => {
      const egress = dir === 'egress';
      // Egress entries name the remote (server) identity.
      const remote = egress ? SERVER.identity : CLIENT.identity;
      const spec = (x: Omit<PolicyEntrySpec, 'egress'>): PolicyEntrySpec => ({ ...x, identity: x.identity === ID ? remote : x.identity, egress });
      let r: RunResult;
      let b: Bench;
      if (egress) {
        const n = clientNode();
        b = n.b;
        for (const x of c.entries) assert.equal(putPolicyEntry(n.client.policy, spec(x)), 0);
        r = b.fromContainer(n.client, tcp(FLOW, TCP_SYN));
      } else {
        const n = serverNode();
        b = n.b;
        for (const x of c.entries) assert.equal(putPolicyEntry(n.server.policy, spec(x)), 0);
        r = b.fromOverlay(tcp(FLOW, TCP_SYN), CLIENT.identity);
      }
      const [pv] = verdicts(r.events);
      assert.ok(pv, 'a verdict event');
      const action = c.drop ? 'deny' : 'allow';
      assert.equal(
        b.line(pv),
        `Policy verdict log: flow ${hex(pv.hash)} local EP ID ${egress ? 1234 : 2345}, remote ID ${remote}, proto 6, ${dir}, action ${action}, auth: disabled, match ${c.match}, ${CONN}`,
      );
      if (c.drop) {
        assert.equal(r.rc, TcAct.SHOT);
        assert.equal(r.ctx.dropReason, c.drop);
        assert.equal(drops(r.events)[0].reason, c.drop);
        assert.equal(b.metric(c.drop), 1);
      } else {
        assert.equal(r.rc, TcAct.REDIRECT);
        assert.equal(drops(r.events).length, 0);
      }
    });
  }
}
