import { Document, visit } from 'yaml';
import { type ParsedArgs, UsageError } from './args.js';
import type { OutputFormat } from './options.js';
import { hasUnsafe, terminalJson, UNSAFE_IN_JSON } from './terminal-text.js';

/** Where a command prints, and how: the format asked for and what the terminal allows. */
export interface Output {
  format: OutputFormat;
  write(text: string): void;
  /** stdout is a terminal: colours (unless NO_COLOR), tables cut to its width, an ANSI QR code. */
  tty: boolean;
  colour: boolean;
  /** The width tables must fit in; undefined when stdout is no terminal (a pipe gets whole rows). */
  width: number | undefined;
}

/** What the process's own streams say about the terminal. */
export interface Terminal {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/** `-o FORMAT`, with `--json` and `--wide` as its aliases; refuses a format the command does not offer. */
export function outputFrom(args: ParsedArgs, terminal: Terminal, allowed: readonly OutputFormat[]): Output {
  const asked = [args.values.get('output'), args.flags.has('json') ? 'json' : undefined, args.flags.has('wide') ? 'wide' : undefined].filter(
    (f): f is string => f !== undefined,
  );
  if (new Set(asked).size > 1) throw new UsageError(`give one output format, not ${asked.join(' and ')}`);
  const format = (asked[0] ?? 'table') as OutputFormat;
  if (!allowed.includes(format)) throw new UsageError(`-o: this command prints ${allowed.join(', ')}, not ${format}`);
  const tty = terminal.out.isTTY === true;
  // https://no-color.org: any non-empty NO_COLOR turns colour off.
  const colour = tty && !terminal.env.NO_COLOR && terminal.env.TERM !== 'dumb';
  const columns = Number(terminal.env.COLUMNS) || terminal.out.columns || 80;
  return { format, write: (text) => void terminal.out.write(text), tty, colour, width: tty ? columns : undefined };
}

/** JSON for scripts: see terminalJson for why it is escaped beyond JSON.stringify. */
export function asJson(value: unknown): string {
  return `${terminalJson(value)}\n`;
}

/**
 * YAML of the value. A string holding a character a terminal acts on is written double-quoted,
 * where YAML has `\uXXXX` escapes, and those characters are written that way (C0 the yaml
 * library escapes itself), so the YAML parses back to the same value.
 */
export function asYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && hasUnsafe(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 }).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Prints `raw` in the asked format: `table`/`wide` through the command's own printer, `json` and
 * `yaml` the API's answer as is, `name` one identifier a line (for `xargs` and loops).
 */
export function emit(o: Output, raw: unknown, table: (wide: boolean) => string, names: () => string[]): void {
  switch (o.format) {
    case 'json':
      return o.write(asJson(raw));
    case 'yaml':
      return o.write(asYaml(raw));
    case 'name':
      return o.write(
        names()
          .map((n) => `${n}\n`)
          .join(''),
      );
    default:
      return o.write(table(o.format === 'wide'));
  }
}

const COLOURS: ReadonlyMap<string, string> = new Map([
  ['active', '32'],
  ['revoked', '31'],
  ['expired', '33'],
  ['rolled', '36'],
]);

/** The cell in its status colour when colour is on; the text itself otherwise. */
export function paintStatus(o: Pick<Output, 'colour'>, padded: string, status: string): string {
  const code = COLOURS.get(status);
  return o.colour && code ? `\u001b[${code}m${padded}\u001b[0m` : padded;
}
