// The packet capture behind trace, drop and policy-verdict records: whatever
// the packet's length and offset, the record holds exactly the first
// min(len, cap) bytes of the packet and its header says so. (The copy moves
// whole float64s into the record's padding; the record itself must not show it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bench } from './fixture.js';
import { SkBuff } from '../../src/datapath/skb.js';
import { sendDropNotify, sendPolicyVerdictNotify, sendTraceNotify, traceAllowed } from '../../src/datapath/sim/lib/notify.js';
import { DROP_NOTIFY, EVENT_ENVELOPE, NOTIFY_HDR, POLICY_VERDICT_NOTIFY, TRACE_NOTIFY, TRACE_PAYLOAD_LEN } from '../../src/datapath/events.js';
import { MonitorAggregation, ObsPoint } from '../../src/datapath/trace.js';

/** The records in the ring, as copies. */
function records(b: Bench): Uint8Array[] {
  const out: Uint8Array[] = [];
  b.dp.events.consume((d, o, l) => out.push(d.slice(o, o + l)));
  return out;
}

function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  // Bytes that form NaN float64 patterns too (0xff runs), which the copy must carry bit for bit.
  for (let i = 0; i < len; i++) f[i] = (i * 37 + seed) % 7 === 0 ? 0xff : (i * 131 + seed) & 0xff;
  return f;
}

test('trace, drop and verdict records capture exactly the packet prefix at every length and offset', () => {
  const b = new Bench(1, { monitorAggregation: MonitorAggregation.NONE });
  const ctx = new SkBuff(256);
  for (const headroom of [64, 66, 68, 71]) {
    for (let len = 1; len <= 150; len++) {
      const f = frame(len, len + headroom);
      // Leave other bytes behind the packet in the buffer, so a copy that showed them would be caught.
      ctx.buf.fill(0xa5);
      ctx.load(f, 0, len, headroom);
      sendTraceNotify(b.dp, ctx, ObsPoint.TO_LXC, 1, 2, 3, 4, 5, 0, 0, 0);
      sendTraceNotify(b.dp, ctx, ObsPoint.TO_LXC, 1, 2, 3, 4, 5, 0, 33, 0);
      sendDropNotify(b.dp, ctx, 1, 2, 3, 4, 130, 1, 2, 1);
      sendPolicyVerdictNotify(b.dp, ctx, 1, 2, 80, 6, 1, 0, 1, false, 9);
      const recs = records(b);
      assert.equal(recs.length, 4);
      const sizes = [TRACE_NOTIFY.SIZE, TRACE_NOTIFY.SIZE, DROP_NOTIFY.SIZE, POLICY_VERDICT_NOTIFY.SIZE];
      const wants = [TRACE_PAYLOAD_LEN, 33, TRACE_PAYLOAD_LEN, TRACE_PAYLOAD_LEN];
      recs.forEach((r, i) => {
        const cap = Math.min(len, wants[i]!);
        const s = EVENT_ENVELOPE.SIZE;
        const v = new DataView(r.buffer);
        assert.equal(r.length, s + sizes[i]! + cap, `record ${i} length, len ${len} headroom ${headroom}`);
        assert.equal(v.getUint32(s + NOTIFY_HDR.LEN_ORIG, true), len);
        assert.equal(v.getUint16(s + NOTIFY_HDR.LEN_CAP, true), cap);
        assert.deepEqual(r.subarray(s + sizes[i]!), f.subarray(0, cap), `record ${i} capture, len ${len} headroom ${headroom}`);
      });
    }
  }
});

test('monitor aggregation: from-* trace points pass only below LOWEST, the others unless MEDIUM+ with nothing new to report', () => {
  // emit_trace_notify()'s case list, as bpf/lib/trace.h spells it.
  const from = new Set<number>([ObsPoint.FROM_LXC, ObsPoint.FROM_PROXY, ObsPoint.FROM_HOST, ObsPoint.FROM_STACK, ObsPoint.FROM_OVERLAY, ObsPoint.FROM_NETWORK, ObsPoint.FROM_CRYPTO]);
  for (const agg of [MonitorAggregation.NONE, MonitorAggregation.LOWEST, MonitorAggregation.LOW, MonitorAggregation.MEDIUM, MonitorAggregation.MAXIMUM]) {
    const b = new Bench(1, { monitorAggregation: agg });
    for (let point = 0; point <= ObsPoint.TO_CRYPTO; point++) {
      for (const monitor of [0, 1, TRACE_PAYLOAD_LEN]) {
        const want = from.has(point) ? agg < MonitorAggregation.LOWEST : !(agg >= MonitorAggregation.MEDIUM && monitor === 0);
        assert.equal(traceAllowed(b.dp, point, monitor), want, `aggregation ${agg}, point ${point}, monitor ${monitor}`);
      }
    }
    // Points past the enum are not from-* points (the bit test must not wrap around).
    assert.equal(traceAllowed(b.dp, 32 + ObsPoint.FROM_LXC, 1), true);
    assert.equal(traceAllowed(b.dp, 32 + ObsPoint.FROM_LXC, 0), agg < MonitorAggregation.MEDIUM);
  }
});
