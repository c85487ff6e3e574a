/** What tells the width: a terminal's own `columns`, else COLUMNS. */
export interface WidthSource {
  out: { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/**
 * The width help is wrapped to: COLUMNS when set, else the terminal's; undefined through a pipe
 * with no COLUMNS (`--help | grep` gets whole lines, as tables give whole rows there). Never
 * under 40: a line that narrow helps no one.
 */
export function textWidth({ out, env }: WidthSource): number | undefined {
  const columns = Number(env.COLUMNS) || (out.isTTY === true ? out.columns || 80 : undefined);
  return columns === undefined ? undefined : Math.max(40, columns);
}

/**
 * Where a line's continuation lines start: under the second column of a two-column row
 * (`  --name NAME  the token's name`, `  tollgate token list  …`), else under the line's own text.
 */
function hangingIndent(line: string): number {
  if (line.startsWith('Usage: ')) return 'Usage: '.length + 2;
  // An example command: its continuation indented further, so it does not read as a second example.
  const example = /^(\s+)tollgate /.exec(line);
  if (example) return example[1]!.length + 4;
  const row = /^(\s*\S+(?: \S+)*\s{2,})\S/.exec(line);
  if (row && row[1]!.length < line.length / 2 + 20) return row[1]!.length;
  return /^\s*/.exec(line)![0].length;
}

/**
 * The text with every line longer than `width` broken at spaces, its continuations indented as
 * `hangingIndent` says. A word is never broken: one longer than the room left (a URL) gets a
 * line of its own and runs past the width.
 */
export function wrapText(text: string, width: number | undefined): string {
  if (width === undefined) return text;
  return text
    .split('\n')
    .map((line) => {
      if (line.length <= width) return line;
      const indent = ' '.repeat(hangingIndent(line));
      const lines: string[] = [];
      let current = '';
      // Each word with the spaces before it, so a row keeps its column gaps where it is not broken.
      for (const [, gap, word] of line.matchAll(/( *)(\S+)/g)) {
        if (current.trim() !== '' && current.length + gap!.length + word!.length > width) {
          lines.push(current);
          current = indent + word;
        } else {
          current += gap! + word;
        }
      }
      lines.push(current);
      return lines.join('\n');
    })
    .join('\n');
}
