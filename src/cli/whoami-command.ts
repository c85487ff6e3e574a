import type { TokenView } from '../admin/schemas.js';
import type { Command } from './command.js';
import { emit, paintStatus } from './output.js';
import { absoluteTime, relativeTime, renderFields } from './table.js';

interface Whoami {
  token: TokenView;
  role: 'star' | 'scoped' | 'personal' | 'none';
  effectiveRights: Record<string, string[]>;
}

/** What each role may do on the admin API, in a word a user understands. */
const ROLES: ReadonlyMap<string, string> = new Map([
  ['star', 'admin of every repository'],
  ['scoped', 'admin of the repositories it holds admin on'],
  ['personal', "manages its own user's personal tokens"],
  ['none', 'no admin API (a data token)'],
]);

/** `tollgate whoami`: the token in TOLLGATE_TOKEN, as GET /v1/whoami describes it. */
export const WHOAMI: Command = {
  usage: 'whoami',
  summary: 'the token in TOLLGATE_TOKEN: its name, kind, scope, rights, expiry, and what it may do',
  options: [],
  outputs: ['table', 'json', 'yaml', 'name'],
  positional: 0,
  examples: ['tollgate whoami', 'tollgate whoami -o json'],
  async run({ client, o }) {
    const me = await client.call<Whoami>('GET', '/v1/whoami');
    const t = me.token;
    const now = Date.now();
    const effective = Object.entries(me.effectiveRights)
      .map(([repository, rights]) => `${repository}=${rights.join(',') || '(none)'}`)
      .join(' ');
    const rows: Array<[string, string]> = [
      ['token', `${t.name} (${t.prefix}…, id ${t.id})`],
      ['kind', t.kind + (t.user ? ` for user ${t.user}` : '')],
      ['status', t.status],
      ['scope', t.repository === '*' ? '* (all repositories)' : t.repository],
      ['rights', t.rights.join(',') || '-'],
      ['effective', effective || '-'],
      ['expires', t.expiresAt === null ? 'never' : `${absoluteTime(t.expiresAt)} (${relativeTime(t.expiresAt, now)})`],
      ['role', `${me.role}: ${ROLES.get(me.role) ?? me.role}`],
    ];
    emit(
      o,
      me,
      () => renderFields(rows, { width: o.width, paint: (key, value) => (key === 'status' ? paintStatus(o, value, value) : value) }),
      () => [t.id],
    );
  },
};
