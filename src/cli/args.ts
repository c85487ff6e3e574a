// Why node:util's parseArgs rather than the hand-written loop or a package (commander, yargs):
// it ships with Node (no dependency to audit or keep up), its strict mode already refuses unknown
// options, missing values and values on flags, and it handles `--name=value`, short options,
// `-ojson` and `--`. What it lacks (allowed values, help, completion) one catalog of options
// gives all three (options.ts), which a framework would split across its own idioms.
import { parseArgs as parseWithNode } from 'node:util';
import { OPTIONS, type OptionDef } from './options.js';
import { didYouMean } from './suggest.js';

/**
 * A command-line mistake: printed with one line pointing at the help of `helpFor` (`token create`;
 * undefined: the top-level help; '': no pointer, the message says it all), exit status 2 (docs/cli.md).
 */
export class UsageError extends Error {
  readonly code = 'TG_USAGE';
  constructor(
    message: string,
    readonly helpFor?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The line a usage error ends with: where the whole story is. */
export function helpPointer(helpFor: string | undefined): string {
  if (helpFor === '') return '';
  return `Run 'tollgate ${helpFor ? `${helpFor} ` : ''}--help' for usage.\n`;
}

export interface ParsedArgs {
  positional: string[];
  /** Options without a value (`--json`), by long name. */
  flags: Set<string>;
  /** Options with one value (`--name N`), checked against their allowed values. */
  values: Map<string, string>;
  /** Options that may repeat (`--grant a=x --grant b=y`). */
  lists: Map<string, string[]>;
}

/** The option's definition; every command names its options from the one catalog. */
function definition(name: string): OptionDef {
  const def = OPTIONS.get(name);
  if (!def) throw new Error(`no option --${name} in the catalog`);
  return def;
}

/**
 * Splits argv by the named options with node:util's parseArgs (strict: an unknown option, a
 * missing value or a value on a flag is an error; `--name=value`, `-o json`, `-ojson` and `--`
 * all work), then checks every value against its option (`--kind robot` is bad usage, exit 2).
 */
export function parseArgs(argv: readonly string[], names: readonly string[]): ParsedArgs {
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const name of names) {
    const def = definition(name);
    config[name] = {
      type: def.kind === 'flag' ? 'boolean' : 'string',
      ...(def.kind === 'list' ? { multiple: true } : {}),
      ...(def.short ? { short: def.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseWithNode>;
  try {
    parsed = parseWithNode({ args: [...argv], options: config, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(nodeMessage(err as Error & { code?: string }, names));
  }
  const result: ParsedArgs = { positional: parsed.positionals, flags: new Set(), values: new Map(), lists: new Map() };
  // Only names from `config` can be keys here (strict mode refuses the rest).
  for (const [name, value] of Object.entries(parsed.values)) {
    const def = definition(name);
    const values = Array.isArray(value) ? value : [value];
    if (def.kind === 'flag') {
      if (value === true) result.flags.add(name);
      continue;
    }
    for (const one of values) {
      if (typeof one !== 'string' || one === '') throw new UsageError(`--${name} needs a value${def.example ? `, such as ${def.example}` : ''}`);
      const fault = checkValue(def, one);
      if (fault !== undefined) throw new UsageError(`--${name}: ${fault}`);
    }
    if (def.kind === 'list') result.lists.set(name, values as string[]);
    else result.values.set(name, values[values.length - 1] as string);
  }
  return result;
}

/** Why `value` is not allowed for the option, or undefined when it is. */
export function checkValue(def: OptionDef, value: string): string | undefined {
  if (def.choices && !def.choices.includes(value)) return `expected one of ${def.choices.join(', ')}, got ${JSON.stringify(value)}`;
  return def.check?.(value);
}

/** node:util's messages, shortened to the option at fault (they also explain `--` at length). */
function nodeMessage(err: Error & { code?: string }, names: readonly string[]): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    return `unknown option ${option}${
      option.startsWith('--')
        ? didYouMean(
            option,
            names.map((n) => `--${n}`),
          )
        : ''
    }`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (err.message.includes('does not take an argument')) return `${option} takes no value`;
    const def = OPTIONS.get(option.replace(/^-+/, '')) ?? [...OPTIONS.values()].find((d) => `-${d.short}` === option);
    return `${option} needs a value${def?.example ? `, such as ${def.example}` : ''}`;
  }
  return err.message.split('\n')[0]!;
}
