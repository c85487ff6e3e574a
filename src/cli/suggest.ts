/**
 * The edit distance of two words: insertions, deletions, substitutions and swaps of two
 * neighbours each count 1 (optimal string alignment), so `crete`, `craete` and `tokens` are one
 * step from `create`, `create` and `token`.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate the user most likely meant by `word`: the nearest by edit distance, when it is
 * near enough to be a typo (1 for short words, 2 from five letters), else the only candidate that
 * starts with it; undefined when nothing is close.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = lower.replace(/^-+/, '').length >= 5 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = Infinity;
  const list = [...candidates];
  for (const candidate of list) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best !== undefined && bestDistance <= limit) return best;
  const starting = lower.length >= 2 ? list.filter((c) => c.toLowerCase().startsWith(lower)) : [];
  return starting.length === 1 ? starting[0] : undefined;
}

/** `; did you mean "create"?`, or nothing when no candidate is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const near = suggest(word, candidates);
  return near === undefined ? '' : `; did you mean ${JSON.stringify(near)}?`;
}
