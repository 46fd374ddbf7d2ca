// A re-armable timer on the shared Clock. TCP moves its retransmit deadline
// on almost every ACK; pushing the deadline later only updates a number, and
// the clock timer re-arms itself for the remainder when it fires early.

import type { Clock, TimerHandle } from '../../util/clock.js';

export class LazyTimer {
  private handle: TimerHandle | null = null;
  private handleAt = Infinity;
  private deadline = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly onExpire: () => void,
  ) {}

  get armed(): boolean {
    return this.deadline !== Infinity;
  }

  /** Absolute expiry time, Infinity when disarmed. */
  get expiresAt(): number {
    return this.deadline;
  }

  /** Fire delayMs from now, replacing any earlier deadline. */
  arm(delayMs: number): void {
    this.deadline = this.clock.now() + delayMs;
    if (this.handle && this.handleAt <= this.deadline) return;
    this.schedule();
  }

  cancel(): void {
    this.deadline = Infinity;
    if (this.handle) {
      this.clock.clearTimer(this.handle);
      this.handle = null;
      this.handleAt = Infinity;
    }
  }

  private schedule(): void {
    if (this.handle) this.clock.clearTimer(this.handle);
    this.handleAt = this.deadline;
    this.handle = this.clock.setTimer(this.deadline - this.clock.now(), () => this.fire());
  }

  private fire(): void {
    this.handle = null;
    this.handleAt = Infinity;
    if (this.deadline === Infinity) return;
    // The tolerance keeps float rounding from re-arming a zero-length timer forever.
    if (this.deadline - this.clock.now() > 1e-6) {
      this.schedule();
      return;
    }
    this.deadline = Infinity;
    this.onExpire();
  }
}
