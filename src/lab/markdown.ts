// The runnable parts of a lab: its ```bash blocks, split into the commands a
// person would type (backslash continuations joined, comments dropped).

export interface LabCommand {
  /** The block's index among the lab's bash blocks. */
  block: number;
  /** The nearest heading above the block ("Step 4: Examine the Socket Layer Hook"). */
  heading: string;
  /** The command line as typed (continuations joined with a space). */
  text: string;
  /** 1-based line in the markdown where the command starts. */
  line: number;
}

export function labCommands(markdown: string): LabCommand[] {
  const lines = markdown.split('\n');
  const out: LabCommand[] = [];
  let heading = '';
  let inBash = false;
  let inOther = false;
  let block = -1;
  let pending = '';
  let pendingLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const fence = /^\s*```(\S*)\s*$/.exec(raw);
    if (fence) {
      if (inBash) {
        inBash = false;
        pending = '';
      } else if (inOther) inOther = false;
      else if (fence[1] === 'bash') {
        inBash = true;
        block++;
      } else inOther = true;
      continue;
    }
    if (!inBash) {
      if (!inOther) {
        const h = /^#{1,6}\s+(.*)$/.exec(raw);
        if (h) heading = h[1]!.trim();
      }
      continue;
    }
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (!pending) pendingLine = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1).trim() + ' ';
      continue;
    }
    out.push({ block, heading, text: (pending + line.trim()).trim(), line: pendingLine });
    pending = '';
  }
  return out;
}
