// V8 flags for the processes that run the engine (the daemon, the benches).
// The packet path is a chain of small functions (hook → program → tail calls
// → map and event helpers); TurboFan's default inlining budget (920 bytes of
// bytecode inlined into one optimised function) stops partway down it, and
// every call left costs a frame, argument checks and lost constant folding.
// A larger budget inlines more of it. Callgrind, instructions per packet of
// the datapath bench's loops (datapath-loop.js, rounds 8 minus 4 of 10,000),
// on 2026-11-26's code:
//   size / cumulative / absolute   new      established   64x64 pairs
//   V8 defaults (460/920/4600)     10,488   7,589         13,688
//   1000 / 3000 / 4600              9,508*  6,381         12,307
//   3000 / 6000 / 4600              7,723   6,500         12,537
//   4000 / 8000 / 10000             8,333   5,914         12,078   ← these
// (* on the code of an hour before). Re-swept on 2026-11-27's code (new
// connection only, this setting at 8,174): 2000/8000/10000 8,171,
// 4000/12000/10000 8,192, 3000/6000/4600 9,445, 4000/16000/20000 8,032,
// 6000/24000/30000 7,919, 8000/40000/60000 8,469. The larger budgets save up
// to 3 % but double the compile work the count's first 8 rounds include
// (6.1 against 3.2 billion instructions), so the setting stays. Which functions TurboFan inlines where
// shifts with every change to the code, so single settings jump by ±1,000;
// the last row was the best on all three loops together. Wall time of the
// new-connection bench moved less (1,287 → 1,203 ns/packet): at 50,000 flows
// the memory the path touches weighs more than its instructions. The flags
// go on the command line: v8.setFlagsFromString() after start-up recovered
// only half of the gain.

/** Node/V8 command-line flags for an engine process. */
export const ENGINE_V8_FLAGS: readonly string[] = ['--max-inlined-bytecode-size=4000', '--max-inlined-bytecode-size-cumulative=8000', '--max-inlined-bytecode-size-absolute=10000'];

/** Whether this process was started with ENGINE_V8_FLAGS (the benches say so when it was not). */
export function hasEngineFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return ENGINE_V8_FLAGS.every((f) => execArgv.includes(f));
}
