// The underlay segment's neighbour table and switching, around the ports it
// remembers from the last lookups: a port that leaves or is replaced is never
// answered from that memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Underlay, type UnderlayPort } from '../../src/net/underlay.js';
import { VirtualClock } from '../../src/util/clock.js';

const IP = (192 << 24) | (168 << 16) | (1 << 8) | 10;

function port(ip: number, mac: number, got: number[]): UnderlayPort {
  return { ip: ip >>> 0, mac, receive: (buf, off) => got.push(buf[off + 5]!) };
}

/** An Ethernet frame to `mac` whose last destination-MAC byte the receiving port records. */
function frameTo(mac: number): Uint8Array {
  const f = new Uint8Array(60);
  for (let i = 0; i < 6; i++) f[i] = Math.floor(mac / 2 ** (8 * (5 - i))) & 0xff;
  f[12] = 0x08;
  return f;
}

test('neighbour() and delivery follow ports that leave and are replaced, after lookups were remembered', () => {
  const u = new Underlay(new VirtualClock(), 0, true);
  const gotA: number[] = [];
  const gotB: number[] = [];
  const a = port(IP, 0x02_00_00_00_00_0a, gotA);
  const b = port(IP, 0x02_00_00_00_00_0b, gotB);
  u.attach(a);
  // The address as a u32 and as its int32 bits (SkBuff.tunnelRemoteIpv4) names the same neighbour.
  assert.equal(u.neighbour(IP >>> 0)?.mac, a.mac);
  assert.equal(u.neighbour(IP | 0)?.mac, a.mac);
  u.send(frameTo(a.mac));
  u.send(frameTo(a.mac));
  assert.deepEqual(gotA, [0x0a, 0x0a]);

  // A replaces A at the same address: the remembered answers are gone with it.
  u.detach(a);
  assert.equal(u.neighbour(IP), null);
  u.send(frameTo(a.mac));
  assert.equal(u.unclaimed, 1);
  u.attach(b);
  assert.equal(u.neighbour(IP)?.mac, b.mac);
  u.send(frameTo(b.mac));
  u.send(frameTo(a.mac));
  assert.deepEqual(gotB, [0x0b]);
  assert.deepEqual(gotA, [0x0a, 0x0a]);
  assert.equal(u.unclaimed, 2);
});
