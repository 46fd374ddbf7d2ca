// Small pieces shared by the map classes.
import { BPF_EXIST } from './types.js';

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const EXIST = BPF_EXIST;

/** Per-CPU values are laid out with an 8-byte-rounded stride, as the kernel's percpu maps are. */
export function perCpuStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/** The smallest power of two ≥ n (index sizes). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Kernel check on update flags: anything beyond BPF_EXIST is -EINVAL. */
export function badUpdateFlags(flags: number): boolean {
  return flags >>> 0 > EXIST;
}

/** Copy `len` bytes without allocating a subarray view on the hot path. */
export function copyInto(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (srcOff === 0 && src.length === len) {
    dst.set(src, dstOff);
    return;
  }
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
}

export function checkCpuCount(nCpus: number, name: string): number {
  if (!Number.isInteger(nCpus) || nCpus < 1 || nCpus > 4096) throw new Error(`${name}: bad nCpus ${nCpus}`);
  return nCpus;
}
