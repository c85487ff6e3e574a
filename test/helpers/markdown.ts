import { readFileSync } from 'node:fs';

/** A page of the repository by its path from the root (`docs/decision-api/nginx.md`). */
export function readPage(path: string): string {
  return readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
}

/** The fenced code blocks of a page in `language`, in order: tests run what the docs print. */
export function docBlocks(path: string, language: string): string[] {
  return [...readPage(path).matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);
}

/** The page with fenced blocks and inline code blanked, line breaks kept (so line numbers hold). */
export function proseOf(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/(`+)[\s\S]*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
}

/**
 * GitHub's anchor for a heading: the text lower-cased, markup and punctuation other than `-`
 * and `_` dropped, each space a `-`; a repeated anchor gets `-1`, `-2`, ... in order.
 */
export function headingAnchors(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = markdown.replace(/^(```|~~~)[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = heading!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/ /g, '-');
    let slug = base;
    for (let n = 1; out.has(slug); n++) slug = `${base}-${n}`;
    out.set(slug, heading!);
  }
  return out;
}

/** Every inline link target of a page outside code, with its line. */
export function linksOf(markdown: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  proseOf(markdown)
    .split('\n')
    .forEach((text, i) => {
      for (const [, target] of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: target!, line: i + 1 });
    });
  return out;
}
