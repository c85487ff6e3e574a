import { COMMANDS, SINGLE_COMMANDS } from './admin-commands.js';
import { COMMON_OPTIONS } from './command.js';
import { EVENT_OPTIONS } from './events-command.js';
import { OPTIONS } from './options.js';

/** `word`: the words completion offers after it (sub-commands, or options and positional choices). */
interface Tables {
  /** `''` for the first word; a group name for its actions. */
  words: Map<string, string[]>;
  /** `serve`, `token create`: its options. */
  options: Map<string, string[]>;
  /** `--kind`: its allowed values. */
  values: Map<string, string[]>;
}

/** The local commands (`serve`, `demo`, ...) as completion reads them: their names and options. */
export type LocalCommandOptions = Readonly<Record<string, { readonly options: readonly string[] }>>;

/** What completion knows, from the same tables the parser and --help read. */
function tables(localCommands: LocalCommandOptions): Tables {
  const words = new Map<string, string[]>([
    ['', [...Object.keys(localCommands), ...Object.keys(SINGLE_COMMANDS), ...Object.keys(COMMANDS), 'events', '--help', '--version']],
  ]);
  const options = new Map<string, string[]>();
  const flags = (names: readonly string[]) => names.flatMap((n) => [`--${n}`, ...(OPTIONS.get(n)?.short ? [`-${OPTIONS.get(n)!.short}`] : [])]);
  for (const [name, command] of Object.entries(localCommands)) options.set(name, flags([...command.options, 'help']));
  words.set('completion', ['bash', 'zsh']);
  for (const [name, command] of Object.entries(SINGLE_COMMANDS)) options.set(name, flags([...command.options, ...COMMON_OPTIONS]));
  options.set('events', flags(EVENT_OPTIONS));
  for (const [group, actions] of Object.entries(COMMANDS)) {
    words.set(group, Object.keys(actions));
    for (const [action, command] of Object.entries(actions)) options.set(`${group} ${action}`, flags([...command.options, ...COMMON_OPTIONS]));
  }
  const values = new Map<string, string[]>();
  for (const [name, def] of OPTIONS) {
    if (def.choices) values.set(`--${name}`, [...def.choices]);
    if (def.choices && def.short) values.set(`-${def.short}`, [...def.choices]);
  }
  values.set('--rights', ['stream', 'query', 'modify', 'delete', 'admin', 'query,stream']);
  return { words, options, values };
}

const caseArms = (map: Map<string, string[]>, indent: string) =>
  [...map].map(([key, list]) => `${indent}${JSON.stringify(key)}) echo ${JSON.stringify(list.join(' '))} ;;`).join('\n');

/** Both shells share one lookup function; each wraps it in its own completion call. */
function lookup(t: Tables): string {
  return `_tollgate_words() {
  case "$1" in
${caseArms(t.words, '    ')}
  esac
}
_tollgate_options() {
  case "$1" in
${caseArms(t.options, '    ')}
  esac
}
_tollgate_values() {
  case "$1" in
${caseArms(t.values, '    ')}
  esac
}
# The command so far (first word, or "group action") and what to offer for the current word.
_tollgate_candidates() {
  local prev="$1" cur="$2"; shift 2
  local first="$1" second="$2" key
  local values; values=$(_tollgate_values "$prev")
  if [ -n "$values" ]; then echo "$values"; return; fi
  if [ $# -eq 0 ]; then _tollgate_words ""; return; fi
  case "$first" in
    ${Object.keys(COMMANDS).join('|')})
      if [ $# -eq 1 ]; then _tollgate_words "$first"; return; fi
      key="$first $second" ;;
    completion) if [ $# -eq 1 ]; then _tollgate_words completion; fi; return ;;
    *) key="$first" ;;
  esac
  case "$cur" in -*) _tollgate_options "$key" ;; esac
}
`;
}

/** The script `tollgate completion bash|zsh` prints. */
export function completionScript(shell: 'bash' | 'zsh', localCommands: LocalCommandOptions): string {
  const shared = lookup(tables(localCommands));
  if (shell === 'bash') {
    return `# tollgate completion for bash: source <(tollgate completion bash)
${shared}_tollgate() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=( $(compgen -W "$(_tollgate_candidates "$prev" "$cur" "\${COMP_WORDS[@]:1:COMP_CWORD-1}")" -- "$cur") )
}
complete -F _tollgate tollgate
`;
  }
  return `#compdef tollgate
# tollgate completion for zsh: tollgate completion zsh > "\${fpath[1]}/_tollgate", or source <(tollgate completion zsh)
${shared}_tollgate() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}"
  local -a candidates
  candidates=(\${=$(_tollgate_candidates "$prev" "$cur" "\${(@)words[2,CURRENT-1]}")})
  compadd -- $candidates
}
if [ "\${funcstack[1]}" = "_tollgate" ]; then _tollgate "$@"; else compdef _tollgate tollgate; fi
`;
}
