// cil_from_netdev decides from the destination address and port alone when
// rev-SNAT has nothing to do (revNatCanSkip in bpf_host.ts) and loads the full
// IPv4 header only for the rest. This checks it against the full path on
// mutated replies of a masqueraded flow (truncated, other IHL, protocol,
// ports in and out of the NAT range, other destinations, fragments): a frame
// the full path leaves alone passes untouched, and one it rev-NATs is still
// rewritten.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, ip } from '../helpers/world.js';
import { NetStack } from '../../src/net/stack/stack.js';
import { UNDERLAY_GATEWAY_MAC } from '../../src/net/underlay.js';
import { SkBuff, TcAct } from '../../src/datapath/skb.js';
import { Ip4Info, ethProto, loadIp4 } from '../../src/datapath/sim/lib/pkt.js';
import { revSnatV4 } from '../../src/datapath/sim/lib/nat.js';
import { Rng } from '../../src/util/rng.js';

const EXT_MAC = 0x02_42_c0_a8_01_64;

/** A pod on node 0 talks to an external host; returns the world and the replies that reached node 0's eth0. */
function masqueradedFlow() {
  const w = new World();
  const ext = new NetStack({
    name: 'ext',
    ip: ip('192.168.1.100'),
    mac: EXT_MAC,
    gatewayIp: ip('192.168.1.1'),
    gatewayMac: UNDERLAY_GATEWAY_MAC,
    clock: w.clock,
    rng: w.rng.fork(),
    transmit: (f) => w.underlay.send(f),
  });
  w.underlay.attach({ ip: ext.localIp, mac: EXT_MAC, receive: (b, o, l) => ext.receive(b.slice(o, o + l)) });
  ext.tcpListen(80, (s) => {
    s.onData = () => s.write(new TextEncoder().encode('ok'));
  });
  const replies: Uint8Array[] = [];
  w.underlay.addTap((f) => {
    // From the external host's MAC: replies to the node's address.
    if (f.length > 12 && f[6] === 0x02 && f[7] === 0x42 && f[8] === 0xc0 && f[11] === 0x64) replies.push(f);
  });
  const pod = w.addPod('frontend', 0, '10.0.1.50', 12345);
  const sock = pod.stack.tcpConnect(ip('192.168.1.100'), 80);
  sock.onConnect = () => sock.write(new TextEncoder().encode('hi'));
  w.settle();
  return { w, replies };
}

/** The full path: ethertype, loadIp4, destination, then revSnatV4; true when it rewrote the frame. */
function fullPathRevNats(w: World, frame: Uint8Array): boolean {
  const dp = w.nodes[0]!.dp;
  const ctx = new SkBuff().load(frame);
  if (ethProto(ctx) !== 0x0800) return false;
  const info = new Ip4Info();
  if (loadIp4(ctx, info) || info.dst !== dp.cfg.nodeIp) return false;
  return revSnatV4(dp, ctx, info);
}

test('cil_from_netdev: frames the full path leaves alone pass untouched; rev-NATed ones are still rewritten', () => {
  const { w, replies } = masqueradedFlow();
  assert.ok(replies.length > 0, 'the external host replied');
  const node = w.nodes[0]!;
  const rng = new Rng(11);
  let natted = 0;
  let skipped = 0;
  for (let i = 0; i < 3000; i++) {
    const base = replies[i % replies.length]!;
    let f = base.slice();
    switch (i % 8) {
      case 0:
        break;
      case 1:
        // Truncated anywhere, headers included.
        f = f.slice(0, rng.below(f.length + 1));
        break;
      case 2:
        // Another IHL (options, or an invalid one).
        f[14] = 0x40 | rng.below(16);
        break;
      case 3:
        // Another protocol (UDP keeps the ports; ICMP and others do not have them).
        f[23] = [6, 17, 1, 132, 47][rng.below(5)]!;
        break;
      case 4: {
        // Another destination port, in or out of the NAT range.
        const port = rng.below(2) ? 32768 + rng.below(32768) : rng.below(32768);
        f[36] = port >>> 8;
        f[37] = port & 0xff;
        break;
      }
      case 5:
        // Another destination address (the node's with one bit flipped).
        f[30 + rng.below(4)] ^= 1 << rng.below(8);
        break;
      case 6:
        // A fragment.
        f[20] |= rng.below(2) ? 0x20 : 0x01;
        break;
      default:
        // A random byte of the headers.
        f[rng.below(Math.min(f.length, 54))] = rng.below(256);
    }
    const want = fullPathRevNats(w, f);
    const ctx = new SkBuff().load(f);
    ctx.ifindex = node.kernel.eth0.ifindex;
    const before = ctx.frame();
    const rc = node.kernel.host.cil_from_netdev(ctx);
    if (want) {
      natted++;
      assert.ok(rc !== TcAct.OK || !Buffer.from(ctx.frame()).equals(Buffer.from(before)), `frame ${i} was not rev-NATed`);
    } else {
      skipped++;
      assert.equal(rc, TcAct.OK, `frame ${i}`);
      assert.deepEqual(ctx.frame(), before, `frame ${i} was changed`);
    }
  }
  assert.ok(natted > 100 && skipped > 100, `${natted} rev-NATed, ${skipped} left alone`);
});
