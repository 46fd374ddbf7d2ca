// V8 flags for the processes that run the engine (the daemon, the benches).
// The packet path is a chain of small functions (hook → program → tail calls
// → map and event helpers); TurboFan's default inlining budget (920 bytes of
// bytecode inlined into one optimised function) stops partway down it, and
// every call left costs a frame, argument checks and lost constant folding.
// A larger budget inlines the chain: measured with callgrind on the datapath
// bench's cross-node new-connection loop, 13,031 → 11,384 instructions per
// packet (scripts/datapath-instructions.js; see the README's performance
// section for the current figure). They are passed on the command line:
// v8.setFlagsFromString() after start-up recovered only half of the gain.

/** Node/V8 command-line flags for an engine process. */
export const ENGINE_V8_FLAGS: readonly string[] = ['--max-inlined-bytecode-size=1000', '--max-inlined-bytecode-size-cumulative=3000'];

/** Whether this process was started with ENGINE_V8_FLAGS (the benches say so when it was not). */
export function hasEngineFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return ENGINE_V8_FLAGS.every((f) => execArgv.includes(f));
}
