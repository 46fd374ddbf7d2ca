// V8 flags for the processes that run the engine (the daemon, the benches).
// The packet path is a chain of small functions (hook → program → tail calls
// → map and event helpers); TurboFan's default inlining budget (920 bytes of
// bytecode inlined into one optimised function) stops partway down it, and
// every call left costs a frame, argument checks and lost constant folding.
// A larger budget inlines more of it. Callgrind, instructions per packet of
// the datapath bench's loops (scripts/datapath-instructions.js: rounds 16
// minus 8 of 10,000 after the bench's own warm-up), on 2026-11-27's code:
//   size / cumulative / absolute   new      established   64x64 pairs
//   V8 defaults (460/920/4600)     10,883
//   1000 / 3000 / 4600              9,797
//   2000 / 8000 / 10000             8,881
//   4000 / 8000 / 10000             8,940   6,662-7,072   11,304   (until then)
//   4000 / 12000 / 10000            9,226
//   4000 / 16000 / 20000            8,213   6,157         10,819
//   6000 / 24000 / 30000            8,185
//   8000 / 40000 / 60000            8,081   5,962         10,295
//   16000 / 80000 / 120000          8,586
// Re-swept on 2026-11-27 (third session) after the packet path stopped
// reading imports through cells and classes stopped defining fields as
// undefined first (tsconfig useDefineForClassFields false), counting the
// bench's timed passes only (rounds 8 to 16; established 16 to 24, where
// TurboFan is still compiling ~3,100 of the count either way):
//   size / cumulative / absolute   new      established   64x64 pairs
//   4000 / 12000 / 20000            7,815
//   4000 / 16000 / 20000            7,383   8,873         10,093   (until then)
//   4000 / 20000 / 24000            7,183   8,846          9,661   ← these
//   4000 / 24000 / 30000            7,171
//   4000 / 32000 / 40000            7,249
// With 16000 TurboFan had left the VXLAN driver's transmit out of the
// sender's code (a call and its spills per packet). The callgrind loop's
// warm-up and 8 rounds took 1.26-1.28 s in one thread with 16000/20000,
// 1.55-1.57 s with these and 1.65-1.98 s with 24000/30000.
// Earlier sweeps counted a loop whose world was the only one V8 had seen: it
// folds that world's objects into the code as constants, and a smaller budget
// was enough (4000/8000/10000 counted 8,076 there). After the bench's warm-up
// (a world per figure, as a daemon serves many nodes and endpoints) those
// constants are gone, the code is larger, and more of it needs the larger
// budget. Which functions TurboFan inlines where shifts with every change to
// the code, so single settings jump by hundreds. The cost is compile work,
// which grows faster than the budget (TurboFan's code generator searches its
// deoptimisation literals linearly): the callgrind loop's 8 rounds after the
// warm-up took 1.1-1.4 s in one thread (--predictable) with 4000/8000/10000,
// 1.7-1.9 s with 4000/16000/20000, 1.8-2.1 s with 6000/24000/30000 and 4.5-4.9 s with
// 8000/40000/60000, whose last 1 % is not worth that much compiling in a
// daemon on two cores. The lab's 41 commands (`podpath lab check 01`) took
// 22.7-23.3 s with either the previous flags or 8000/40000/60000. The flags go
// on the command line: v8.setFlagsFromString() after start-up recovered only
// half of the gain.

/** Node/V8 command-line flags for an engine process. */
export const ENGINE_V8_FLAGS: readonly string[] = ['--max-inlined-bytecode-size=4000', '--max-inlined-bytecode-size-cumulative=20000', '--max-inlined-bytecode-size-absolute=24000'];

/** Whether this process was started with ENGINE_V8_FLAGS (the benches say so when it was not). */
export function hasEngineFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return ENGINE_V8_FLAGS.every((f) => execArgv.includes(f));
}
