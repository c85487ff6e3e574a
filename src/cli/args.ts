/** A command-line mistake: printed with the usage, exit status 2 (SPEC §7). */
export class UsageError extends Error {
  readonly code = 'TG_USAGE';
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Options without a value (`--json`). */
  flags?: readonly string[];
  /** Options with one value (`--name N`). */
  valued?: readonly string[];
  /** Options that may repeat (`--grant a=x --grant b=y`). */
  repeatable?: readonly string[];
}

export interface ParsedArgs {
  positional: string[];
  flags: Set<string>;
  values: Map<string, string>;
  lists: Map<string, string[]>;
}

/** Splits `--name value`, `--name=value`, bare flags and repeated options from positionals. */
export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], flags: new Set(), values: new Map(), lists: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (spec.flags?.includes(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      parsed.flags.add(name);
      continue;
    }
    const isValued = spec.valued?.includes(name);
    const isRepeatable = spec.repeatable?.includes(name);
    if (!isValued && !isRepeatable) throw new UsageError(`unknown option --${name}`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    if (isRepeatable) parsed.lists.set(name, [...(parsed.lists.get(name) ?? []), value]);
    else parsed.values.set(name, value);
  }
  return parsed;
}
