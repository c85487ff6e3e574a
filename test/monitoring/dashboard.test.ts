import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// What makes the dashboard readable without its author: rows an operator scans top-down, and on
// every panel a description, a unit, thresholds and a legend name per query. That the queries
// return data is test/monitoring/prometheus.test.ts's part.
const root = fileURLToPath(new URL('../..', import.meta.url));
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'));
type Panel = {
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults: { unit?: string; thresholds?: { steps: Array<{ color: string; value: number | null }> }; mappings?: unknown[] } };
  targets?: Array<{ expr: string; legendFormat?: string }>;
};
const panels = dashboard.panels as Panel[];

t.test('the rows an operator looks for, the overview first', async (t) => {
  const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
  t.equal(rows[0], 'Overview');
  for (const row of ['Refusals by reason', 'Decision port', 'Limits', 'Revocation and cache', 'Webhooks', 'Expiring tokens and certificates'])
    t.ok(rows.includes(row), row);
});

t.test('the overview: allowed and refused rates, added latency p50/p99, open exchanges, the store as a state', async (t) => {
  const start = panels.findIndex((p) => p.title === 'Overview');
  const end = panels.findIndex((p, i) => i > start && p.type === 'row');
  const overview = panels.slice(start + 1, end);
  const exprs = (title: string) => overview.find((p) => p.title === title)?.targets?.map((target) => target.expr) ?? [];
  t.match(exprs('Allowed')[0], /outcome="allowed"/);
  t.match(exprs('Refused')[0], /outcome=~"unauthenticated\|forbidden\|not_found\|unavailable"/);
  t.same(
    exprs('Added latency p50 / p99').map((e) => /^histogram_quantile\(([\d.]+),/.exec(e)?.[1]),
    ['0.5', '0.99'],
  );
  t.match(exprs('Open exchanges')[0], /tollgate_live_exchanges/);
  const store = overview.find((p) => p.title === 'Store up')!;
  t.equal(store.type, 'state-timeline', 'up or down over time, not a line between 0 and 1');
  t.ok(store.fieldConfig?.defaults.mappings?.length, 'its values are named');
  t.ok(
    overview.every((p) => p.gridPos.y === overview[0]!.gridPos.y),
    'one row of panels',
  );
});

t.test('every panel has a description, a unit, thresholds and a legend name per query', async (t) => {
  const ids = new Set<number>();
  for (const panel of panels) {
    ids.add((panel as unknown as { id: number }).id);
    if (panel.type === 'row') continue;
    t.ok((panel.description ?? '').length > 20, `${panel.title}: description`);
    t.ok(panel.fieldConfig?.defaults.unit, `${panel.title}: unit`);
    t.ok((panel.fieldConfig?.defaults.thresholds?.steps.length ?? 0) > 0, `${panel.title}: thresholds`);
    for (const target of panel.targets ?? []) t.ok(target.legendFormat && target.legendFormat !== '__auto', `${panel.title}: legend for ${target.expr}`);
    t.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title}: fits the grid`);
  }
  t.equal(ids.size, panels.length, 'panel ids are unique');
});

t.test('two queries in one panel are told apart by their legends', async (t) => {
  for (const panel of panels) {
    const legends = (panel.targets ?? []).map((target) => target.legendFormat);
    t.equal(new Set(legends).size, legends.length, panel.title);
  }
});
