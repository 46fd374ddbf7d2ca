// 100,000 random and mutated frames through cil_from_container (the kernel's
// tc ingress of a pod's veth) and cil_from_overlay (with the tunnel key the
// VXLAN driver sets, and as whole VXLAN frames through the node's receive
// path). Whatever the bytes, a program never throws, returns only
// TC_ACT_OK / SHOT / REDIRECT, and every SHOT carries exactly one drop event
// with a drop reason Cilium knows (rule 4 of the architecture).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { SkBuff, TcAct } from '../../src/datapath/skb.js';
import { PolicyDir } from '../../src/datapath/events.js';
import { DEFAULT_MAP_SIZES } from '../../src/datapath/maps.js';
import { dropReasonText, isKnownDropReason } from '../../src/datapath/drop.js';
import { drainEvents, formatMonitorLine, type DatapathEvent } from '../../src/datapath/monitor.js';
import { putPolicyEntry, upsertBackend, upsertService } from '../../src/datapath/map-writer.js';
import { CallSlot } from '../../src/datapath/sim/calls.js';
import { buildArpFrame, buildIcmpEchoFrame, buildTcpFrame, buildUdpFrame } from '../../src/packet/build.js';
import { writeVxlanEncap, VXLAN_ENCAP_OVERHEAD } from '../../src/packet/vxlan.js';
import { IpProto } from '../../src/packet/ipv4.js';
import { Bench, CLIENT, SERVER, NODE1, NODE2, VIP, VXLAN_IFINDEX, fixIpChecksum, icmpError, ip, type TestEndpoint } from './fixture.js';

const TOTAL = 100_000;
const N_CONTAINER = 60_000;
const N_OVERLAY = 30_000;
const N_RECEIVE = TOTAL - N_CONTAINER - N_OVERLAY;
const BATCH = 512;
const VALID_RC = new Set<number>([TcAct.OK, TcAct.SHOT, TcAct.REDIRECT]);

const VIP_EMPTY = ip('10.96.0.53');
const B_IP = ip('10.0.1.60');
const C_IP = ip('10.0.1.70');

function world() {
  const b = new Bench(1, { socketLb: false, noBackendResponse: 'reject', mapSizes: { ...DEFAULT_MAP_SIZES, eventsBytes: 1 << 22 } });
  const a = b.addEndpoint({ id: CLIENT.id, ip: CLIENT.ip, identity: CLIENT.identity });
  const pb = b.addEndpoint({ id: 1300, ip: B_IP, identity: 34567, enforce: PolicyDir.INGRESS | PolicyDir.EGRESS });
  putPolicyEntry(pb.policy, { identity: CLIENT.identity, egress: false, proto: IpProto.TCP, port: 80 });
  putPolicyEntry(pb.policy, { identity: SERVER.identity, egress: false, proto: IpProto.UDP, port: 0 });
  putPolicyEntry(pb.policy, { identity: 2, egress: false, proto: 0, port: 0, deny: true });
  putPolicyEntry(pb.policy, { identity: SERVER.identity, egress: true, proto: IpProto.TCP, port: 8080 });
  putPolicyEntry(pb.policy, { identity: 0, egress: true, proto: IpProto.UDP, port: 53 });
  putPolicyEntry(pb.policy, { identity: CLIENT.identity, egress: true, proto: IpProto.TCP, port: 0, deny: true });
  // C: egress continuation missing (140), and its policy program unpublished half the run (203).
  const pc = b.addEndpoint({ id: 1301, ip: C_IP, identity: 45678 });
  pc.prog.calls.delete(CallSlot.IPV4_FROM_LXC_CONT);
  b.addRemote(SERVER.ip, SERVER.identity, NODE2.ip);
  upsertBackend(b.dp, { id: 7, addr: SERVER.ip, port: 8080, proto: IpProto.TCP });
  upsertBackend(b.dp, { id: 8, addr: B_IP, port: 80, proto: IpProto.TCP });
  upsertService(b.dp, { vip: VIP, port: 80, revNatIndex: 5, backendIds: [7, 8] });
  upsertService(b.dp, { vip: VIP_EMPTY, port: 53, revNatIndex: 6, backendIds: [] });
  return { b, eps: [a, pb, pc] };
}

// ---- frame generation ----------------------------------------------------------

const PORTS = [80, 8080, 53, 443, 0, 1, 65535];
const TCP_FLAGS = [0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x00, 0xff, 0x03, 0x06];

class Gen {
  private readonly recent: Uint8Array[] = [];
  constructor(private readonly rng: Rng) {}

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.below(xs.length)];
  }

  port(): number {
    return this.rng.float() < 0.7 ? this.pick(PORTS) : this.rng.below(65536);
  }

  addr(own: number): number {
    const r = this.rng;
    return this.pick([own, own, own, SERVER.ip, B_IP, C_IP, CLIENT.ip, VIP, VIP_EMPTY, NODE1.ip, NODE1.router, NODE2.ip, ip('8.8.8.8'), ip('10.0.1.99'), ip('10.0.2.7'), r.u32()]);
  }

  /** A well-formed frame from `src` (usually) to somewhere interesting. */
  valid(src: number): Uint8Array {
    const r = this.rng;
    const srcIp = r.float() < 0.9 ? src : this.addr(src);
    const dstIp = this.addr(src);
    const l3 = { srcMac: 0x0e_00_00_00_00_01, dstMac: 0x0a_00_00_00_00_01, srcIp, dstIp, ttl: this.pick([64, 64, 64, 1, 2, 255]) };
    const payload = new Uint8Array(r.below(3) === 0 ? r.below(200) : 0);
    let f: Uint8Array;
    switch (r.below(7)) {
      case 0:
      case 1:
        f = buildTcpFrame({ ...l3, srcPort: this.port(), dstPort: this.port(), flags: this.pick(TCP_FLAGS), seq: r.u32(), ack: r.u32(), payload });
        break;
      case 2:
        f = buildUdpFrame({ ...l3, srcPort: this.port(), dstPort: this.port(), payload, zeroChecksum: r.below(4) === 0 });
        break;
      case 3:
        f = buildIcmpEchoFrame({ ...l3, echoIdent: r.below(65536), seq: r.below(100), reply: r.below(2) === 0, data: payload });
        break;
      case 4: {
        const orig = this.recent.length ? this.pick(this.recent) : buildUdpFrame({ ...l3, srcPort: 1, dstPort: 2 });
        const ok = orig.length >= 14 + 28 && orig[12] === 8 && orig[13] === 0 && orig[14] >> 4 === 4 && (orig[14] & 15) >= 5 && orig.length >= 14 + (orig[14] & 15) * 4 + 8;
        f = ok ? icmpError(srcIp, dstIp, this.pick([3, 11, 3, 5, 12]), r.below(16), orig) : buildUdpFrame({ ...l3, srcPort: 1, dstPort: 2 });
        break;
      }
      case 5:
        f = buildArpFrame({ op: this.pick([1, 2, 3]), srcMac: 0x0e_00_00_00_00_01, spa: srcIp, tpa: dstIp });
        break;
      default: {
        f = new Uint8Array(r.below(120));
        for (let i = 0; i < f.length; i++) f[i] = r.below(256);
        if (f.length >= 14 && r.below(2) === 0) {
          f[12] = 8;
          f[13] = 0;
          if (f.length > 14) f[14] = 0x45;
        }
      }
    }
    if (this.recent.length < 64) this.recent.push(f);
    else this.recent[r.below(64)] = f;
    return f;
  }

  mutate(frame: Uint8Array): Uint8Array {
    const r = this.rng;
    let f = frame.slice();
    const n = r.below(4);
    for (let i = 0; i < n; i++) {
      const fix = r.below(2) === 0;
      switch (r.below(11)) {
        case 0:
          for (let k = r.between(1, 8); k > 0 && f.length; k--) f[r.below(f.length)] ^= 1 << r.below(8);
          break;
        case 1:
          f = f.slice(0, r.below(f.length + 1));
          break;
        case 2: {
          const g = new Uint8Array(f.length + r.between(1, 80));
          g.set(f);
          for (let k = f.length; k < g.length; k++) g[k] = r.below(256);
          f = g;
          break;
        }
        case 3:
          if (f.length > 14) f[14] = (f[14] & 0xf0) | r.below(16);
          break;
        case 4:
          if (f.length > 17) {
            f[16] = r.below(256);
            f[17] = r.below(256);
          }
          break;
        case 5:
          if (f.length > 14 + 20 + 12) f[14 + (f[14] & 15) * 4 + 12] = r.below(256);
          break;
        case 6:
          if (f.length > 23) f[23] = this.pick([0, 1, 6, 17, 47, 50, 132, 255, r.below(256)]);
          break;
        case 7:
          if (f.length > 13) {
            const t = this.pick([0x0800, 0x0806, 0x86dd, 0x8100, 0x88cc, r.below(65536)]);
            f[12] = t >> 8;
            f[13] = t & 0xff;
          }
          break;
        case 8:
          if (f.length > 21) {
            f[20] = this.pick([0x20, 0x00, 0x40, 0x1f, r.below(256)]);
            f[21] = this.pick([0, 0, 1, r.below(256)]);
          }
          break;
        case 9:
          if (f.length > 22) f[22] = this.pick([0, 1, 2]);
          break;
        default:
          if (f.length > 14) f[14] = (r.below(16) << 4) | (f[14] & 15);
      }
      if (fix && f.length >= 34) fixIpChecksum(f);
    }
    return f;
  }

  frame(src: number): Uint8Array {
    const v = this.valid(src);
    return this.rng.below(5) === 0 ? v : this.mutate(v);
  }
}

// ---- checking -------------------------------------------------------------------

interface Pending {
  rc: number;
  /** cilium_events records produced before/after this packet. */
  from: number;
  to: number;
  /** skb drop reason when the program's ctx is at hand, else -1. */
  dropReason: number;
  frame: Uint8Array;
  where: string;
}

class Checker {
  private pending: Pending[] = [];
  private base: number;
  readonly reasons = new Map<number, number>();
  readonly rcs = new Map<number, number>();
  shots = 0;
  drops = 0;

  constructor(private readonly b: Bench) {
    drainEvents(b.dp.events);
    this.base = b.dp.events.produced;
  }

  get produced(): number {
    return this.b.dp.events.produced;
  }

  add(p: Pending): void {
    this.pending.push(p);
    if (this.pending.length >= BATCH) this.flush();
  }

  flush(): void {
    const ring = this.b.dp.events;
    assert.equal(ring.lost, 0, 'cilium_events never overflowed (the checks would be blind)');
    const evs: DatapathEvent[] = drainEvents(ring);
    assert.equal(evs.length, ring.produced - this.base, 'every record decodes');
    for (const p of this.pending) {
      const mine = evs.slice(p.from - this.base, p.to - this.base);
      const ds = mine.filter((e) => e.type === 'drop');
      const ctxt = () => `${p.where} rc=${p.rc} frame=${Buffer.from(p.frame).toString('hex')} events=${mine.map((e) => formatMonitorLine(e)).join(' | ')}`;
      assert.ok(VALID_RC.has(p.rc), `TcAct OK/SHOT/REDIRECT: ${ctxt()}`);
      this.rcs.set(p.rc, (this.rcs.get(p.rc) ?? 0) + 1);
      if (p.rc === TcAct.SHOT) {
        this.shots++;
        assert.equal(ds.length, 1, `a SHOT has exactly one drop event: ${ctxt()}`);
        const reason = ds[0].type === 'drop' ? ds[0].reason : -1;
        assert.ok(isKnownDropReason(reason), `known drop code, got ${reason} (${dropReasonText(reason)}): ${ctxt()}`);
        if (p.dropReason >= 0) assert.equal(p.dropReason, reason, `skb drop reason matches the event: ${ctxt()}`);
        this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
      } else {
        assert.equal(ds.length, 0, `no drop event without a SHOT: ${ctxt()}`);
      }
      // Every event line is printable.
      for (const e of mine) assert.equal(typeof formatMonitorLine(e), 'string');
    }
    this.drops += evs.filter((e) => e.type === 'drop').length;
    this.base = ring.produced;
    this.pending = [];
  }
}

function run<T>(what: () => T, frame: Uint8Array, where: string): T {
  try {
    return what();
  } catch (err) {
    throw new Error(`${where} threw on frame ${Buffer.from(frame).toString('hex')}: ${(err as Error).stack}`);
  }
}

test(`fuzz: ${TOTAL} random and mutated frames through cil_from_container and cil_from_overlay`, () => {
  const { b, eps } = world();
  const k = b.kernel;
  const rng = new Rng(0xf022);
  const gen = new Gen(rng);
  const chk = new Checker(b);
  const pc = eps[2];
  const cPolicy = k.endpoints.get(1301)!.prog.handle_policy;

  // 1. cil_from_container via the kernel's tc ingress of the pod's veth.
  for (let i = 0; i < N_CONTAINER; i++) {
    if (i % 1000 === 0) b.clock.advance(rng.below(8000));
    if (i === N_CONTAINER / 2) b.dp.callPolicy.delete(1301);
    const ep: TestEndpoint = gen.pick(eps);
    const frame = gen.frame(ep.cfg.ipv4);
    const from = chk.produced;
    const rc = run(() => k.runIngress(ep.cfg.ifindex, frame), frame, `cil_from_container[${ep.cfg.id}]`);
    chk.add({ rc, from, to: chk.produced, dropReason: -1, frame, where: `cil_from_container[${ep.cfg.id}] #${i}` });
  }
  b.dp.callPolicy.set(1301, cPolicy);
  chk.flush();

  // 2. cil_from_overlay with the tunnel key as the VXLAN driver leaves it (or none).
  const skb = new SkBuff();
  const vnis = [CLIENT.identity, SERVER.identity, 34567, 45678, 6, 2, 1, 0, 0xffffff];
  for (let i = 0; i < N_OVERLAY; i++) {
    if (i % 1000 === 0) b.clock.advance(rng.below(8000));
    if (i === N_OVERLAY / 2) b.dp.callPolicy.delete(1301);
    const frame = gen.frame(gen.pick([SERVER.ip, ip('10.0.2.7'), NODE2.ip, CLIENT.ip]));
    skb.load(frame);
    skb.ifindex = VXLAN_IFINDEX;
    if (rng.below(20) !== 0) {
      skb.tunnelValid = true;
      skb.tunnelId = rng.below(4) === 0 ? rng.below(1 << 24) : gen.pick(vnis);
      skb.tunnelRemoteIpv4 = NODE2.ip | 0;
    }
    const from = chk.produced;
    const rc = run(() => k.overlay.cil_from_overlay(skb), frame, 'cil_from_overlay');
    chk.add({ rc, from, to: chk.produced, dropReason: rc === TcAct.SHOT ? skb.dropReason : -1, frame, where: `cil_from_overlay vni=${skb.tunnelValid ? skb.tunnelId : 'none'} #${i}` });
  }
  b.dp.callPolicy.set(1301, cPolicy);
  chk.flush();

  // 3. Whole VXLAN frames on eth0: cil_from_netdev, the kernel's decap, cil_from_overlay, whatever follows.
  const dropsBefore = chk.drops;
  for (let i = 0; i < N_RECEIVE; i++) {
    const inner = gen.frame(gen.pick([SERVER.ip, ip('10.0.2.7'), CLIENT.ip]));
    let outer = new Uint8Array(VXLAN_ENCAP_OVERHEAD + inner.length);
    outer.set(inner, VXLAN_ENCAP_OVERHEAD);
    writeVxlanEncap(outer, 0, inner.length, {
      srcMac: 0x02_42_c0_a8_01_0c,
      dstMac: b.dp.cfg.nodeMac,
      srcIp: NODE2.ip,
      dstIp: NODE1.ip,
      srcPort: 32768 + rng.below(28000),
      vni: rng.below(3) === 0 ? rng.below(1 << 24) : gen.pick(vnis),
    });
    if (rng.below(4) === 0) {
      for (let n = rng.between(1, 4); n > 0; n--) outer[rng.below(VXLAN_ENCAP_OVERHEAD)] ^= 1 << rng.below(8);
    }
    if (rng.below(10) === 0) outer = outer.slice(0, rng.below(outer.length));
    run(() => k.receive(outer), outer, 'receive');
    // No verdict comes back from the wire: at most one drop, by a known code.
    const evs = drainEvents(b.dp.events).filter((e) => e.type === 'drop');
    assert.ok(evs.length <= 1, `at most one drop per frame: ${Buffer.from(outer).toString('hex')}`);
    for (const e of evs) {
      assert.ok(e.type === 'drop' && isKnownDropReason(e.reason), `known drop code on receive: ${formatMonitorLine(e)}`);
    }
    chk.drops += evs.length;
  }

  // The run exercised every verdict and many drop paths (a fuzzer that only ever hits one branch proves little).
  assert.ok((chk.rcs.get(TcAct.OK) ?? 0) > 1000, 'some passed to the stack');
  assert.ok((chk.rcs.get(TcAct.REDIRECT) ?? 0) > 1000, 'some redirected');
  assert.ok(chk.shots > 10_000, 'many dropped');
  for (const code of [132, 133, 134, 135, 139, 140, 144, 147, 157, 171, 181, 196, 203]) {
    assert.ok((chk.reasons.get(code) ?? 0) > 0, `drop ${code} (${dropReasonText(code)}) was reached`);
  }
  assert.ok(chk.drops - dropsBefore > 0, 'the receive path dropped something too');
  assert.equal(pc.cfg.id, 1301);
});
