// Go's text/tabwriter, as kubectl uses it: cells end with a tab, a column
// block is a run of consecutive lines that have a cell in that column, and
// each cell of a block is padded to the block's widest cell plus `padding`.
// The text after a line's last tab is never padded. Widths count runes.
// `rememberWidths` is kubectl's fork's flag: column widths only grow across
// flushes, so rows printed later by `get -w` line up with the header.

export interface TabWriterOptions {
  /** Spaces added after the widest cell of each column block (kubectl get: 3, describe: 2). */
  padding: number;
  minWidth?: number;
  rememberWidths?: boolean;
}

function runeLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export class TabWriter {
  private maxWidths: number[] = [];

  constructor(private readonly opts: TabWriterOptions) {}

  /** Forget remembered widths (kubectl does between resource types). */
  resetWidths(): void {
    this.maxWidths = [];
  }

  /** Align a chunk of tab-separated lines (one Flush of Go's writer). */
  format(text: string): string {
    const endsWithNewline = text.endsWith('\n');
    const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
    const minWidth = this.opts.minWidth ?? 0;
    const widths: number[] = [];
    const out: string[] = [];

    const writeLines = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        const cells = lines[i]!;
        let line = '';
        for (let j = 0; j < cells.length; j++) {
          const cell = cells[j]!;
          if (j < widths.length && j < cells.length - 1) line += cell + ' '.repeat(Math.max(0, widths[j]! - runeLength(cell)));
          else line += cell;
        }
        out.push(line);
      }
    };

    const format = (lineFrom: number, lineTo: number): void => {
      const column = widths.length;
      let start = lineFrom;
      for (let current = lineFrom; current < lineTo; current++) {
        if (column >= lines[current]!.length - 1) continue;
        // A cell in this column: the lines before it are complete, then a block begins.
        writeLines(start, current);
        start = current;
        let width = minWidth;
        for (; current < lineTo; current++) {
          const cells = lines[current]!;
          if (column >= cells.length - 1) break;
          width = Math.max(width, runeLength(cells[column]!) + this.opts.padding);
        }
        if (this.opts.rememberWidths) {
          if (this.maxWidths.length < widths.length) this.maxWidths.push(...widths.slice(this.maxWidths.length));
          if (this.maxWidths.length === widths.length) this.maxWidths.push(width);
          else if (this.maxWidths[widths.length]! > width) width = this.maxWidths[widths.length]!;
          else this.maxWidths[widths.length] = width;
        }
        widths.push(width);
        format(start, current);
        widths.pop();
        start = current;
      }
      writeLines(start, lineTo);
    };

    format(0, lines.length);
    return out.join('\n') + (endsWithNewline ? '\n' : '');
  }
}

/** One-shot alignment (a fresh writer, one flush). */
export function alignTabs(text: string, opts: TabWriterOptions): string {
  return new TabWriter(opts).format(text);
}
