// Go's text/tabwriter as Cilium's CLIs configure it (minwidth 5, tabwidth 0,
// padding 3, pad char ' '): every cell is padded to its column's width plus
// the padding, and a cell ended by a tab keeps its padding even when it is
// the last one on the line (hence the trailing spaces in real output).

export interface TabwriterOptions {
  minWidth?: number;
  padding?: number;
}

/**
 * Format rows of cells. `terminated[i]` tells whether row i's last cell ended
 * with a tab (padded) or with the newline (unpadded); default: every row ends with a tab.
 */
export function tabwrite(rows: string[][], opts: TabwriterOptions & { trailingTab?: boolean } = {}): string {
  const minWidth = opts.minWidth ?? 5;
  const padding = opts.padding ?? 3;
  const trailingTab = opts.trailingTab ?? true;
  // Cells that end with a tab: all but the last, plus the last when the row ends with a tab.
  const cols = Math.max(0, ...rows.map((r) => (trailingTab ? r.length : r.length - 1)));
  const widths: number[] = [];
  for (let c = 0; c < cols; c++) {
    let w = 0;
    for (const r of rows) {
      const tabbed = trailingTab ? c < r.length : c < r.length - 1;
      if (tabbed) w = Math.max(w, [...r[c]!].length);
    }
    widths.push(Math.max(minWidth, w + padding));
  }
  const out: string[] = [];
  for (const r of rows) {
    let line = '';
    for (let c = 0; c < r.length; c++) {
      const cell = r[c]!;
      const tabbed = trailingTab ? true : c < r.length - 1;
      line += tabbed ? cell + ' '.repeat(widths[c]! - [...cell].length) : cell;
    }
    out.push(line);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
