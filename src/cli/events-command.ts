import { AdminClient } from './admin-client.js';
import { parseArgs, UsageError } from './args.js';
import { optionsHelp } from './options.js';
import { asJson, asYaml, outputFrom } from './output.js';
import { relativeTime, renderTable } from './table.js';
import { textWidth, type WidthSource, wrapText } from './text-wrap.js';
import { actorNames } from './token-commands.js';

export const EVENT_OPTIONS = ['type', 'actor', 'token', 'limit', 'output', 'json', 'admin-url', 'help'] as const;

export const EVENTS_USAGE = `Usage: tollgate events [--type TYPE] [--actor ACTOR] [--token ID] [--limit N] [-o table|json|yaml] [--admin-url URL]

The audit log: every admin change (kept events.retention, webhooks or not), newest first, with
each webhook's delivery state and attempts:
GET /v1/events with TOLLGATE_TOKEN (a token with the admin right; a scoped admin sees the
events of its repositories' tokens).

Options:
${optionsHelp(EVENT_OPTIONS)}
Examples:
  tollgate events --type token.revoked --limit 20
  tollgate events --token 0123456789abcdef
  tollgate events -o json
`;

interface EventItem {
  id: string;
  type: string;
  timestamp: string;
  actor?: string | null;
  data: { id?: unknown; name?: unknown } | null;
  deliveries: Array<{ webhook: string; state: string; attempts: number; nextAttemptAt: string | null; lastError: string | null }>;
}

/** What an event is about: a token's name and id, or a user's, team's or repository's name. */
const subjectOf = (event: EventItem): string =>
  event.data?.id !== undefined && typeof event.data?.name === 'string'
    ? `"${event.data.name}" ${String(event.data.id)}`
    : String(event.data?.id ?? event.data?.name ?? '-');

/** One line per event and webhook (an event no webhook has reached yet shows once, queued). */
function rows(items: readonly EventItem[], now: number, names: ReadonlyMap<string, string>): string[][] {
  return items.flatMap((event) => {
    const by = event.actor ? (names.get(event.actor) ?? event.actor) : '-';
    const head = [relativeTime(event.timestamp, now), by, event.type, subjectOf(event), event.id];
    if (event.deliveries.length === 0) return [[...head, '-', '-', '0', '']];
    return event.deliveries.map((d) => {
      const note = d.state === 'waiting' ? `${d.lastError ?? ''}; next ${relativeTime(d.nextAttemptAt, now)}` : (d.lastError ?? '');
      return [...head, d.webhook, d.state, String(d.attempts), note];
    });
  });
}

/** `tollgate events`: exit 0 listed, 1 refused or failed, 2 bad usage. */
export async function runEventsCommand(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, now = Date.now()): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out.write(wrapText(EVENTS_USAGE, textWidth({ out: out as WidthSource['out'], env })));
    return 0;
  }
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv, EVENT_OPTIONS);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message, 'events');
    throw err;
  }
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`, 'events');
  const output = outputFrom(args, { out: out as NodeJS.WritableStream & { isTTY?: boolean }, env }, ['table', 'json', 'yaml']);
  const query = new URLSearchParams();
  const limit = args.values.get('limit');
  if (limit !== undefined) query.set('limit', limit);
  for (const name of ['type', 'actor', 'token']) {
    const value = args.values.get(name);
    if (value !== undefined) query.set(name, value);
  }
  const client = AdminClient.fromEnvironment(args.values.get('admin-url'), env);
  const page = await client.call<{ items: EventItem[] }>('GET', `/v1/events${query.size > 0 ? `?${query}` : ''}`);
  if (output.format === 'json') {
    out.write(asJson(page));
    return 0;
  }
  if (output.format === 'yaml') {
    out.write(asYaml(page));
    return 0;
  }
  if (page.items.length === 0) {
    out.write('no events (none in the audit log, which keeps every admin change for events.retention)\n');
    return 0;
  }
  // Actors by name, as history and the page show them.
  const names = await actorNames(
    client,
    page.items.flatMap((event) => (event.actor ? [event.actor] : [])),
  );
  out.write(renderTable(['when', 'by', 'type', 'subject', 'event', 'webhook', 'state', 'attempts', 'note'], rows(page.items, now, names)));
  return 0;
}
