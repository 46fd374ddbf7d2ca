// Seeded randomness: every "random" choice in podpath (backend slot, ephemeral
// port, ISN, identity pick) comes from one of these, so runs are reproducible.

/** sfc32 generator seeded by splitmix32; fast, 32-bit output, good enough statistics. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed = 0x5eed) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform unsigned 32-bit integer (BPF's get_prandom_u32()). */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** A new generator derived from this one, for a sub-component that must not disturb this stream. */
  fork(): Rng {
    return new Rng(this.u32());
  }
}
