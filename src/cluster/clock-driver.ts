// Drives the cluster's VirtualClock from the real event loop. Virtual time
// follows wall time; while a client waits on the cluster (an exec in flight)
// with `fast` pacing, it jumps straight to the next timer instead, so a 5 s
// curl timeout or a SYN retransmit costs no wall time.

import type { VirtualClock } from '../util/clock.js';

export type ClockPacing = 'fast' | 'realtime';

/**
 * Commands whose client follows the wall clock rather than waits for the
 * cluster to finish something: they stream until stopped (`hubble observe
 * --follow`, `cilium monitor`), pause on purpose (`sleep`, a shell script
 * that sleeps, like the lab's `while true; do curl ...; sleep 1; done`), or
 * read their commands from the client (`sh` without -c). Time must not race
 * ahead while they run: flows would carry times minutes ahead of the wall
 * clock, and a paced loop would run flat out.
 */
export function pacedByWallClock(argv: readonly string[]): boolean {
  const program = (argv[0] ?? '').slice((argv[0] ?? '').lastIndexOf('/') + 1);
  const args = argv.slice(1);
  switch (program) {
    case 'hubble':
      return args[0] === 'observe' && args.some((a) => a === '-f' || a === '--follow' || a === '--follow=true');
    case 'cilium':
    case 'cilium-dbg':
      return args[0] === 'monitor';
    case 'sleep':
      return true;
    case 'sh':
    case 'ash':
    case 'bash':
      return args[0] !== '-c' || /(^|[\s;&|(`])sleep(\s|$)/.test(args[1] ?? '');
    default:
      return false;
  }
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

  /** `work` as the exec of `argv`: waited on (waitOn), unless the command is paced by the wall clock. */
  exec<T>(argv: readonly string[], work: Promise<T>): Promise<T> {
    return pacedByWallClock(argv) ? work : this.waitOn(work);
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
