// Reading callgrind's output for the datapath scripts: each instruction's own
// cost, from a run with --dump-instr=yes.

/**
 * Call `cb(address, cost, fn)` for every cost line of a callgrind output
 * file's text: the instruction's address, its own cost (of the event at
 * `event`: 0 is the first, Ir; with --cache-sim=yes 3 is I1mr),
 * and the name of the function callgrind put it in. Cost lines are
 * "<instr> <line> <Ir> …", each position absolute (0x…), relative (+n / -n)
 * or repeated (*); the line after calls= is a call's inclusive cost, already
 * counted where it was spent, so it is skipped.
 */
export function eachInstructionCost(text, cb, event = 0) {
  const last = [0, 0];
  const position = (tok, i) => {
    let v;
    if (tok.startsWith('0x')) v = parseInt(tok, 16);
    else if (tok[0] === '+') v = last[i] + Number(tok.slice(1));
    else if (tok[0] === '-') v = last[i] - Number(tok.slice(1));
    else if (tok === '*') v = last[i];
    else v = Number(tok);
    last[i] = v;
    return v;
  };
  const fnNames = new Map();
  let fn = '';
  let afterCalls = false;
  for (const line of text.split('\n')) {
    const c = line[0];
    if (c === undefined) continue;
    if ((c >= '0' && c <= '9') || c === '+' || c === '-' || c === '*') {
      const t = line.split(' ');
      if (t.length < 3) continue;
      const addr = position(t[0], 0);
      position(t[1], 1);
      if (afterCalls) {
        afterCalls = false;
        continue;
      }
      cb(addr, Number(t[2 + event] ?? 0), fn);
    } else if (line.startsWith('calls=')) afterCalls = true;
    else if (line.startsWith('cfn=')) {
      // A callee's name may be defined first here.
      const m = /^cfn=\((\d+)\) (.*)$/.exec(line);
      if (m) fnNames.set(m[1], m[2]);
    } else if (line.startsWith('fn=')) {
      // "fn=(id) name" the first time, "fn=(id)" after that.
      const m = /^fn=\((\d+)\)(?: (.*))?$/.exec(line);
      if (m) {
        if (m[2] !== undefined) fnNames.set(m[1], m[2]);
        fn = fnNames.get(m[1]) ?? m[1];
      } else fn = line.slice(3);
    }
  }
}

/**
 * In something sorted by ascending key (`length` items, `keyAt(i)` the key of
 * item i), the last index whose key is at most `x`, or -1: which of the sorted
 * code ranges or instruction starts an address falls in.
 */
export function floorIndex(length, keyAt, x) {
  let lo = 0;
  let hi = length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyAt(mid) <= x) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
}
