// The conntrack state machine as the reference (§3.2, §3.3, §6.1) describes
// Cilium's: closing flags and timeouts, reopening, non-TCP lifetimes, ICMP
// echo identifiers as ports, ICMP errors as RELATED, and the monitor
// aggregation that decides which packets produce to-* trace events.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcAct } from '../../src/datapath/skb.js';
import { CtState, ObsPoint } from '../../src/datapath/trace.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { CT_ENTRY } from '../../src/datapath/ct.js';
import type { KeyValueMap } from '../../src/bpf/types.js';
import { hexKey } from '../../src/bpf/bytes.js';
import {
  Bench,
  CLIENT,
  SERVER,
  NODE2,
  NOW0,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TUPLE_OUT,
  TUPLE_RELATED,
  assertKinds,
  ctKey,
  drops,
  hex,
  icmpEcho,
  icmpError,
  readCt,
  rev,
  tcp,
  traces,
  udp,
  verdicts,
  type Flow,
} from './fixture.js';

const RX_CLOSING = 0x1;
const TX_CLOSING = 0x2;
const SEEN_NON_SYN = 0x10;

const FLOW: Flow = { src: CLIENT.ip, dst: SERVER.ip, sport: 43210, dport: 8080 };
const KEY = ctKey(CLIENT.ip, SERVER.ip, 43210, 8080, IpProto.TCP, TUPLE_OUT);

/** node1: the client pod (ingress enforced, nothing allowed; egress open), the server pod on node2. */
function setup() {
  const b = new Bench(1);
  const client = b.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity, enforce: PolicyDir.INGRESS });
  b.addRemote(SERVER.ip, SERVER.identity, NODE2.ip);
  const out = (flags: number, f: Flow = FLOW) => b.fromContainer(client, tcp(f, flags));
  const inn = (flags: number, f: Flow = FLOW) => b.toEndpoint(client, tcp(rev(f), flags), SERVER.identity);
  const entry = () => readCt(b.dp.ct4, KEY)!;
  return { b, client, out, inn, entry };
}

function handshake(s: ReturnType<typeof setup>): void {
  assert.equal(s.out(TCP_SYN).rc, TcAct.REDIRECT);
  assert.equal(s.inn(TCP_SYN | TCP_ACK).rc, TcAct.REDIRECT);
  assert.equal(s.out(TCP_ACK).rc, TcAct.REDIRECT);
}

test('FIN both ways: RxClosing TxClosing SeenNonSyn, flags seen 0x1b, expires now+10', () => {
  const s = setup();
  handshake(s);
  s.out(TCP_PSH | TCP_ACK);
  s.inn(TCP_PSH | TCP_ACK);
  assert.equal(s.entry().lifetime, NOW0 + 8000);

  s.b.advance(3);
  const fin1 = s.out(TCP_FIN | TCP_ACK);
  assert.equal(fin1.rc, TcAct.REDIRECT);
  assert.equal(traces(fin1.events).length, 1, 'a FIN is a new flag: reported');
  let e = s.entry();
  assert.equal(e.flags, TX_CLOSING | SEEN_NON_SYN, 'one side closing');
  assert.equal(e.lifetime, NOW0 + 3 + 8000, 'half-closed stays on the established timeout');

  s.b.advance(1);
  const fin2 = s.inn(TCP_FIN | TCP_ACK);
  assert.equal(fin2.rc, TcAct.REDIRECT);
  assert.equal(traces(fin2.events)[0].reason, CtState.REPLY);
  e = s.entry();
  assert.equal(e.flags, 0x0013, '[ RxClosing TxClosing SeenNonSyn ]');
  assert.equal(e.txFlagsSeen, 0x1b);
  assert.equal(e.rxFlagsSeen, 0x1b);
  assert.equal(e.lifetime, NOW0 + 4 + 10, 'CT_CLOSE_TIMEOUT');
});

test('RST before both SYNs were seen (connection refused) closes both sides', () => {
  const s = setup();
  s.out(TCP_SYN);
  s.b.advance(1);
  const rst = s.inn(TCP_RST | TCP_ACK);
  assert.equal(rst.rc, TcAct.REDIRECT, 'the RST is a reply: delivered');
  const e = s.entry();
  assert.equal(e.flags & (RX_CLOSING | TX_CLOSING), RX_CLOSING | TX_CLOSING);
  assert.equal(e.lifetime, NOW0 + 1 + 10);

  // Same from the other side: the client resets its own unanswered SYN.
  const s2 = setup();
  s2.out(TCP_SYN);
  s2.out(TCP_RST);
  assert.equal(s2.entry().flags & (RX_CLOSING | TX_CLOSING), RX_CLOSING | TX_CLOSING);
  assert.equal(s2.entry().lifetime, NOW0 + 10);
});

test("RST after the handshake marks the sender's side closing; the other side's RST or FIN closes the entry", () => {
  const s = setup();
  handshake(s);
  s.b.advance(2);
  const rst = s.out(TCP_RST | TCP_ACK);
  assert.equal(rst.rc, TcAct.REDIRECT);
  assert.equal(traces(rst.events).length, 1, 'RST reported');
  let e = s.entry();
  assert.equal(e.flags & (RX_CLOSING | TX_CLOSING), TX_CLOSING, 'egress RST with both SYNs seen: tx side only');
  assert.equal(e.lifetime, NOW0 + 2 + 8000);

  s.b.advance(1);
  s.inn(TCP_RST);
  e = s.entry();
  assert.equal(e.flags & (RX_CLOSING | TX_CLOSING), RX_CLOSING | TX_CLOSING);
  assert.equal(e.lifetime, NOW0 + 3 + 10);
});

test('a new SYN on a closed entry is CT_NEW again and starts a fresh entry', () => {
  const s = setup();
  handshake(s);
  s.out(TCP_FIN | TCP_ACK);
  s.inn(TCP_FIN | TCP_ACK);
  assert.equal(s.entry().flags & 3, 3);

  s.b.advance(2);
  const syn = s.out(TCP_SYN);
  assert.equal(syn.rc, TcAct.REDIRECT);
  assertKinds(syn.events, ['trace']);
  const [tr] = traces(syn.events);
  assert.equal(tr.obsPoint, ObsPoint.TO_OVERLAY);
  assert.equal(tr.reason, CtState.NEW);
  const e = s.entry();
  assert.equal(e.flags, 0, 'closing and SeenNonSyn reset');
  assert.equal(e.lifetime, NOW0 + 2 + 60);
  assert.equal(e.txFlagsSeen, 0x02);
  assert.equal(e.rxFlagsSeen, 0x00);
  assert.equal(s.b.dp.ct4.count, 1, 'the same tuple, reused');

  // The new connection completes normally.
  const synAck = s.inn(TCP_SYN | TCP_ACK);
  assert.equal(traces(synAck.events)[0].reason, CtState.REPLY);
});

test('ct_create4 writes every byte of struct ct_entry, over old contents too, and the related ICMP entry is the same bytes', () => {
  const s = setup();
  const map = s.b.dp.ct4;
  const related = ctKey(CLIENT.ip, SERVER.ip, 0, 0, IpProto.ICMP, TUPLE_OUT | TUPLE_RELATED);
  const bytesOf = (m: KeyValueMap, k: Uint8Array) => {
    const off = m.lookup(k);
    assert.ok(off >= 0);
    return hexKey(m.values, off, CT_ENTRY.SIZE);
  };
  /** The entry a SYN from the client creates at `now`, field by field from the layout. */
  const expected = (now: number) => {
    const e = new Uint8Array(CT_ENTRY.SIZE);
    const v = new DataView(e.buffer);
    v.setUint32(CT_ENTRY.LIFETIME, now + 60, true);
    e[CT_ENTRY.TX_FLAGS_SEEN] = TCP_SYN;
    v.setUint32(CT_ENTRY.SRC_SEC_ID, CLIENT.identity, true);
    v.setUint32(CT_ENTRY.LAST_TX_REPORT, now, true);
    return hexKey(e, 0, CT_ENTRY.SIZE);
  };
  assert.equal(s.out(TCP_SYN).rc, TcAct.REDIRECT);
  assert.equal(bytesOf(map, KEY), expected(NOW0));
  assert.equal(bytesOf(s.b.dp.ctAny4, related), expected(NOW0));

  // Junk in every byte (both closing flags set, so the next SYN starts over): ct_create4 overwrites all of it.
  map.values.fill(0xff, map.lookup(KEY), map.lookup(KEY) + CT_ENTRY.SIZE);
  s.b.advance(7);
  assert.equal(s.out(TCP_SYN).rc, TcAct.REDIRECT);
  assert.equal(bytesOf(map, KEY), expected(NOW0 + 7));
  assert.equal(bytesOf(s.b.dp.ctAny4, related), expected(NOW0 + 7));
});

test('UDP: entry in the any map, lifetime now+60 refreshed on every packet in either direction', () => {
  const s = setup();
  const f: Flow = { src: CLIENT.ip, dst: SERVER.ip, sport: 5353, dport: 53 };
  const key = ctKey(CLIENT.ip, SERVER.ip, 5353, 53, IpProto.UDP, TUPLE_OUT);
  const first = s.b.fromContainer(s.client, udp(f));
  assert.equal(first.rc, TcAct.REDIRECT);
  assert.equal(traces(first.events)[0].reason, CtState.NEW);
  assert.equal(readCt(s.b.dp.ct4, key), undefined, 'not in the TCP map');
  let e = readCt(s.b.dp.ctAny4, key)!;
  assert.ok(e);
  assert.equal(e.lifetime, NOW0 + 60);
  assert.equal(e.txFlagsSeen, 0);
  assert.equal(e.flags, 0);
  assert.ok(readCt(s.b.dp.ctAny4, ctKey(CLIENT.ip, SERVER.ip, 0, 0, IpProto.ICMP, TUPLE_OUT | TUPLE_RELATED)), 'related ICMP entry');

  s.b.advance(30);
  const second = s.b.fromContainer(s.client, udp(f));
  assert.equal(traces(second.events)[0].reason, CtState.ESTABLISHED);
  e = readCt(s.b.dp.ctAny4, key)!;
  assert.equal(e.lifetime, NOW0 + 30 + 60);

  s.b.advance(20);
  const reply = s.b.toEndpoint(s.client, udp(rev(f)), SERVER.identity);
  assert.equal(reply.rc, TcAct.REDIRECT);
  assert.equal(verdicts(reply.events).length, 0);
  assert.equal(traces(reply.events)[0].reason, CtState.REPLY);
  assert.equal(readCt(s.b.dp.ctAny4, key)!.lifetime, NOW0 + 50 + 60);

  s.b.advance(59);
  s.b.toEndpoint(s.client, udp(rev(f)), SERVER.identity);
  assert.equal(readCt(s.b.dp.ctAny4, key)!.lifetime, NOW0 + 109 + 60);
});

test('ICMP echo: the identifier is the port; the echo reply is CT_REPLY', () => {
  const s = setup();
  const req = s.b.fromContainer(s.client, icmpEcho(CLIENT.ip, SERVER.ip, 0x4d2));
  assert.equal(req.rc, TcAct.REDIRECT);
  const [tr] = traces(req.events);
  assert.equal(s.b.line(tr), `-> overlay flow ${hex(tr.hash)} , identity 12345->23456 state new ifindex cilium_vxlan orig-ip 0.0.0.0: 10.0.1.50 -> 10.0.2.100 EchoRequest`);
  // "ICMP OUT 10.0.1.50:1234 -> 10.0.2.100:0": identifier as the source port.
  const key = ctKey(CLIENT.ip, SERVER.ip, 0x4d2, 0, IpProto.ICMP, TUPLE_OUT);
  const e = readCt(s.b.dp.ctAny4, key);
  assert.ok(e, 'ICMP OUT entry with the identifier as sport');
  assert.equal(e.lifetime, NOW0 + 60);
  assert.equal(e.srcSecId, CLIENT.identity);

  // Ingress is enforced with nothing allowed: only CT_REPLY gets the echo reply in.
  s.b.advance(1);
  const rep = s.b.toEndpoint(s.client, icmpEcho(SERVER.ip, CLIENT.ip, 0x4d2, true), SERVER.identity);
  assert.equal(rep.rc, TcAct.REDIRECT);
  assertKinds(rep.events, ['trace']);
  assert.equal(traces(rep.events)[0].reason, CtState.REPLY);
  assert.equal(readCt(s.b.dp.ctAny4, key)!.lifetime, NOW0 + 1 + 60);

  // A reply with another identifier belongs to nothing: a new flow, denied by policy.
  const stray = s.b.toEndpoint(s.client, icmpEcho(SERVER.ip, CLIENT.ip, 0x4d3, true), SERVER.identity);
  assert.equal(stray.rc, TcAct.SHOT);
  assert.equal(drops(stray.events)[0].reason, 133);

  // A second ping with another identifier is a new flow with its own entry.
  const req2 = s.b.fromContainer(s.client, icmpEcho(CLIENT.ip, SERVER.ip, 0x4d4));
  assert.equal(traces(req2.events)[0].reason, CtState.NEW);
  assert.ok(readCt(s.b.dp.ctAny4, ctKey(CLIENT.ip, SERVER.ip, 0x4d4, 0, IpProto.ICMP, TUPLE_OUT)));
});

test('ICMP port unreachable about a tracked UDP flow is CT_RELATED (no policy); about an untracked one it is new', () => {
  const s = setup();
  const f: Flow = { src: CLIENT.ip, dst: SERVER.ip, sport: 5353, dport: 53 };
  const dgram = udp(f);
  s.b.fromContainer(s.client, dgram);

  const err = icmpError(SERVER.ip, CLIENT.ip, 3, 3, dgram);
  const r = s.b.toEndpoint(s.client, err, SERVER.identity);
  assert.equal(r.rc, TcAct.REDIRECT, 'related traffic passes an ingress policy that allows nothing');
  assertKinds(r.events, ['trace']);
  const [tr] = traces(r.events);
  assert.equal(tr.reason, CtState.RELATED);
  assert.equal(tr.obsPoint, ObsPoint.TO_LXC);
  assert.match(s.b.line(tr), /state related .* 10\.0\.2\.100 -> 10\.0\.1\.50 DestinationUnreachable\(Port\)$/);

  // The same error quoting a flow nobody sent: subject to policy, denied.
  const other = icmpError(SERVER.ip, CLIENT.ip, 3, 3, udp({ ...f, sport: 6000 }));
  const d = s.b.toEndpoint(s.client, other, SERVER.identity);
  assert.equal(d.rc, TcAct.SHOT);
  assert.equal(d.ctx.dropReason, 133);
  assert.equal(verdicts(d.events).length, 1);
});

test('monitor aggregation (medium): to-* traces only for new flags or after the 5 s report interval', () => {
  const s = setup();
  // SYN, SYN-ACK, ACK: each a new flag in its direction → one trace each.
  assert.equal(traces(s.out(TCP_SYN).events).length, 1);
  assert.equal(traces(s.inn(TCP_SYN | TCP_ACK).events).length, 1);
  assert.equal(traces(s.out(TCP_ACK).events).length, 1);
  assert.equal(s.entry().lastTxReport, NOW0);

  // Repeated ACKs within 5 s of the last report: nothing, both directions.
  for (let i = 1; i <= 5; i++) {
    s.b.advance(1);
    const o = s.out(TCP_ACK);
    assert.equal(o.rc, TcAct.REDIRECT);
    assert.equal(o.events.length, 0, `egress ACK at +${i}s`);
  }
  const inAck = s.inn(TCP_ACK);
  assert.equal(inAck.rc, TcAct.REDIRECT);
  assert.equal(inAck.events.length, 0, 'ingress ACK within the interval of the SYN-ACK report');
  assert.equal(s.entry().lastTxReport, NOW0, 'no report, no update of the report time');

  // 6 s after the last report: one to-overlay trace, and the report time moves.
  s.b.advance(1);
  const late = s.out(TCP_ACK);
  assertKinds(late.events, ['trace']);
  const [tr] = traces(late.events);
  assert.equal(s.b.line(tr), `-> overlay flow ${hex(tr.hash)} , identity 12345->23456 state established ifindex cilium_vxlan orig-ip 0.0.0.0: 10.0.1.50:43210 -> 10.0.2.100:8080 tcp ACK`);
  assert.equal(s.entry().lastTxReport, NOW0 + 6);
  assert.equal(s.out(TCP_ACK).events.length, 0, 'and quiet again');

  // A flag not seen before in a direction is reported at once.
  const psh = s.out(TCP_PSH | TCP_ACK);
  assert.equal(traces(psh.events).length, 1);
  const inPsh = s.inn(TCP_PSH | TCP_ACK);
  assert.equal(traces(inPsh.events).length, 1);
  assert.equal(traces(inPsh.events)[0].reason, CtState.REPLY);
  assert.equal(s.inn(TCP_PSH | TCP_ACK).events.length, 0);

  // Ingress side: 6 s after its last report.
  s.b.advance(6);
  assert.equal(traces(s.inn(TCP_ACK).events).length, 1);
});
