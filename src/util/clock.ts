// One clock for the whole simulated world. Programs read it the way BPF reads
// bpf_ktime_get_ns(); stacks and apps set timers on it. The virtual clock makes
// tests deterministic and lets scripts jump over idle time.

export type TimerCallback = () => void;

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the clock's epoch (fractional). */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch at the same instant (for timestamps people read). */
  wallNow(): number;
  /** Run cb after delayMs (0 = as soon as the current work is done, after earlier 0-delay timers). */
  setTimer(delayMs: number, cb: TimerCallback): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Monotonic seconds as BPF's bpf_mono_now() reports them (CT lifetimes use this). */
export function monoSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

interface Timer extends TimerHandle {
  at: number;
  seq: number;
  cb: TimerCallback | null;
}

/** Binary min-heap of timers ordered by (at, seq): same-time timers fire in the order they were set. */
class TimerHeap {
  private items: Timer[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Timer | undefined {
    return this.items[0];
  }
  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * Virtual time: nothing happens until someone advances it. `advance(ms)` fires
 * every timer due in that window in time order, moving `now()` to each timer's
 * instant as it fires.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private nextId = 1;
  private heap = new TimerHeap();
  private live = new Map<number, Timer>();

  /** @param startMs initial monotonic time; @param wallEpochMs the Unix time that corresponds to now()=0 */
  constructor(startMs = 0, private readonly wallEpochMs = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wallEpochMs + this.t;
  }

  setTimer(delayMs: number, cb: TimerCallback): TimerHandle {
    const timer: Timer = { id: this.nextId++, at: this.t + Math.max(0, delayMs), seq: this.seq++, cb };
    this.heap.push(timer);
    this.live.set(timer.id, timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.live.get(handle.id);
    if (t) {
      t.cb = null;
      this.live.delete(handle.id);
    }
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.live.size;
  }

  /** Instant of the next pending timer, or undefined when idle. */
  nextTimerAt(): number | undefined {
    this.dropCancelled();
    return this.heap.peek()?.at;
  }

  /** Fire every timer due at or before now()+ms, then leave now() at now()+ms. Returns timers fired. */
  advance(ms: number): number {
    return this.advanceTo(this.t + ms);
  }

  advanceTo(targetMs: number): number {
    let fired = 0;
    for (;;) {
      this.dropCancelled();
      const next = this.heap.peek();
      if (!next || next.at > targetMs) break;
      this.heap.pop();
      this.live.delete(next.id);
      if (next.at > this.t) this.t = next.at;
      const cb = next.cb;
      next.cb = null;
      if (cb) {
        cb();
        fired++;
      }
    }
    if (targetMs > this.t) this.t = targetMs;
    return fired;
  }

  /**
   * Fire timers (jumping time forward to each) until none is left or `limitMs`
   * of virtual time has passed. Returns the number of timers fired.
   */
  runUntilIdle(limitMs = 3_600_000): number {
    const end = this.t + limitMs;
    let fired = 0;
    for (;;) {
      const at = this.nextTimerAt();
      if (at === undefined || at > end) break;
      fired += this.advanceTo(at);
    }
    return fired;
  }

  /** Fire timers until `done()` holds, jumping over idle time; false if time ran out first. */
  runUntil(done: () => boolean, limitMs = 3_600_000): boolean {
    const end = this.t + limitMs;
    while (!done()) {
      const at = this.nextTimerAt();
      if (at === undefined || at > end) return done();
      this.advanceTo(at);
    }
    return true;
  }

  private dropCancelled(): void {
    let top = this.heap.peek();
    while (top && top.cb === null) {
      this.heap.pop();
      top = this.heap.peek();
    }
  }
}

/** The wall clock, for the daemon in realtime mode. */
export class WallClock implements Clock {
  private readonly origin = performance.now();
  private nextId = 1;
  private timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return performance.now() - this.origin;
  }

  wallNow(): number {
    return Date.now();
  }

  setTimer(delayMs: number, cb: TimerCallback): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      cb();
    }, Math.max(0, delayMs));
    this.timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }
}
