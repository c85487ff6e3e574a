/**
 * Characters a terminal acts on rather than shows, or that reorder what it shows: C0 controls
 * (ESC starts the sequences that clear the screen or move the cursor; CR and LF fake rows), DEL,
 * C1 controls (U+009B is a one-byte CSI to many terminals), Unicode's Bidi_Control set (U+061C,
 * U+200E/F, the U+202A-U+202E embeddings and overrides, the U+2066-U+2069 isolates), and the
 * U+2028/U+2029 separators some terminals break lines on.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** UNSAFE less C0, which JSON.stringify escapes in strings itself and writes (LF) between them. */
export const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Whether the text holds a character `visible` would escape. */
export function hasUnsafe(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text);
}

const hex = (code: number, digits: number) => code.toString(16).padStart(digits, '0');

/**
 * The text with every unsafe character written as a visible escape (`\x1b`, `\u202e`), so a value
 * from the server can neither drive the terminal nor pass for other output. Every printer of the
 * CLI sends server values through this before they reach stdout or stderr.
 */
export function visible(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
  });
}

/**
 * `JSON.stringify(value, null, 2)`, still JSON that parses to the same value, with DEL, C1 and
 * bidi characters escaped as `\uXXXX` too: JSON.stringify escapes only C0, and `--json` output is
 * read in terminals as often as by scripts. Outside strings JSON.stringify writes only ASCII
 * (punctuation, digits, spaces and newlines), so every match is inside a string, where `\uXXXX`
 * means the same.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c.charCodeAt(0), 4)}`);
}
