// Drives the cluster's VirtualClock from the real event loop. Virtual time
// follows wall time; while a client waits on the cluster (an exec in flight)
// with `fast` pacing, it jumps straight to the next timer instead, so a 5 s
// curl timeout or a SYN retransmit costs no wall time.

import type { VirtualClock } from '../util/clock.js';

export type ClockPacing = 'fast' | 'realtime';

/**
 * A command that streams until it is stopped (`hubble observe --follow`,
 * `cilium monitor`): its client watches the cluster rather than waits for it
 * to finish something, so time must not race ahead while it runs (flow
 * timestamps would run minutes ahead of the wall clock).
 */
export function streamsUntilStopped(argv: readonly string[]): boolean {
  const program = (argv[0] ?? '').slice((argv[0] ?? '').lastIndexOf('/') + 1);
  const args = argv.slice(1);
  if (program === 'hubble') return args[0] === 'observe' && args.some((a) => a === '-f' || a === '--follow' || a === '--follow=true');
  if (program === 'cilium' || program === 'cilium-dbg') return args[0] === 'monitor';
  return false;
}

export class ClockDriver {
  private wallBase = performance.now();
  private virtualBase: number;
  private waiters = 0;
  private ticker: NodeJS.Timeout | null = null;
  private spinning = false;
  private stopped = false;

  constructor(
    private readonly clock: VirtualClock,
    readonly pacing: ClockPacing,
    private readonly tickMs = 5,
  ) {
    this.virtualBase = clock.now();
  }

  start(): void {
    this.stopped = false;
    this.ticker = setInterval(() => this.followWall(), this.tickMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  /** `work` as the exec of `argv`: waited on (waitOn), unless the command streams until stopped. */
  exec<T>(argv: readonly string[], work: Promise<T>): Promise<T> {
    return streamsUntilStopped(argv) ? work : this.waitOn(work);
  }

  /** Run `work` as a client waiting on the cluster: in fast pacing, idle time is skipped until it settles. */
  async waitOn<T>(work: Promise<T>): Promise<T> {
    this.waiters++;
    if (this.pacing === 'fast') this.spin();
    try {
      return await work;
    } finally {
      this.waiters--;
      if (this.waiters === 0) this.rebase();
    }
  }

  /** Virtual time catches up with wall time (both pacings). */
  private followWall(): void {
    if (this.spinning) return;
    const target = this.virtualBase + (performance.now() - this.wallBase);
    if (target > this.clock.now()) this.clock.advanceTo(target);
  }

  /** After fast-forwarding, wall-clock pacing continues from where virtual time is now. */
  private rebase(): void {
    this.wallBase = performance.now();
    this.virtualBase = this.clock.now();
  }

  private spin(): void {
    if (this.spinning) return;
    this.spinning = true;
    const step = (): void => {
      if (this.stopped || this.waiters === 0) {
        this.spinning = false;
        this.rebase();
        return;
      }
      const next = this.clock.nextTimerAt();
      // Let real I/O and promise continuations run between jumps.
      if (next !== undefined) this.clock.advanceTo(Math.max(next, this.clock.now()));
      setImmediate(step);
    };
    setImmediate(step);
  }
}
