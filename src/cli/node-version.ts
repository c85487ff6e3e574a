/**
 * The Node.js lines Tollgate runs on, as package.json's `engines` states them (a test keeps the
 * two equal). undici 8 needs 22.19 or later; Node 20 reached its end of life in April 2026.
 * This module imports nothing, so src/main.ts can check before any dependency loads.
 */
export const SUPPORTED_NODE = '^22.19.0 || >=24';

/** Why this Node.js version cannot run Tollgate, or undefined when it can. */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major >= 24 || (major === 22 && minor >= 19)) return undefined;
  return (
    `Node.js ${version} is not supported: Tollgate runs on Node.js 24 (what the image runs and CI tests) ` +
    `or 22.19 and later (engines: ${SUPPORTED_NODE}). In a clone, \`npm install\` fetches the pinned ` +
    'Node.js 24 into node_modules/.bin, where `npm start` and `npx tollgate ...` find it.'
  );
}
