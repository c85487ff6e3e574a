import type { Page } from 'playwright-core';
import t from 'tap';
import { request } from 'undici';
import { launchChromium } from '../helpers/browser.js';
import { bearer, startHarness } from '../helpers/harness.js';

// The token's details on the admin page draw its usage history (docs/usage.md): a bar per day or
// hour, allowed and refused stacked, the figures on hover and in a total, in Chromium under the
// page's own Content-Security-Policy, at a laptop's and a phone's width.

const h = await startHarness();
t.teardown(() => h.close());
const browser = await launchChromium();
t.teardown(() => browser.close());

const used = await h.token(['query'], 'sensors', { name: 'charted' });
const send = async (repository: string) => {
  const res = await request(`${h.proxy}/v1/repositories/${repository}/query`, { headers: bearer(used.secret) });
  await res.body.dump();
  return res.statusCode;
};
const statuses = [await send('sensors'), await send('sensors'), await send('sensors'), await send('sensors'), await send('billing'), await send('billing')];
await h.tollgate.flushUsage();

async function detailsOf(viewport: { width: number; height: number }, problems: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(5000);
  page.on('console', (message) => message.type() === 'error' && !message.text().startsWith('Failed to load resource') && problems.push(message.text()));
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${h.admin}/ui/`);
  await page.fill('#sign-in-token', h.adminSecret);
  await page.click('#sign-in-form button[type=submit]');
  await page.fill('#search', 'charted');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 1);
  await page.locator('#tokens tbody tr button', { hasText: 'Details' }).click();
  await page.locator('#usage-chart .usage-bar').first().waitFor();
  return page;
}

/** What the bars say: how many, and their allowed and refused summed. */
const bars = (page: Page) =>
  page.$$eval('#usage-chart .usage-bar', (nodes) => ({
    count: nodes.length,
    allowed: nodes.reduce((sum, node) => sum + Number(node.getAttribute('data-allowed')), 0),
    refused: nodes.reduce((sum, node) => sum + Number(node.getAttribute('data-refused')), 0),
    tallest: Math.max(...nodes.map((node) => (node.querySelector('.usage-allowed') as SVGRectElement).getBBox().height)),
  }));

t.test("the details draw a bar per day with the week's figures", async (t) => {
  t.same(statuses, [200, 200, 200, 200, 403, 403]);
  const problems: string[] = [];
  const page = await detailsOf({ width: 1440, height: 900 }, problems);
  const week = await bars(page);
  t.ok(week.count >= 7 && week.count <= 8, `a bar per day of the week: ${week.count}`);
  t.equal(week.allowed, 4);
  t.equal(week.refused, 2);
  t.ok(week.tallest > 0, 'the busy day has a bar');
  // The harness's upstream answers each GET with a small JSON body: 4 of them came back.
  t.match(await page.textContent('#usage-summary'), /^Total: 4 allowed, 2 refused \(insufficient_scope: 2\), 0 B in, [1-9]\d* B out$/);
  t.match(await page.locator('#usage-chart .usage-bar title').last().textContent(), /^\d{4}-\d{2}-\d{2}: 4 allowed, 2 refused/);

  await page.selectOption('#usage-range', '48h');
  await page.waitForFunction(() => document.querySelectorAll('#usage-chart .usage-bar').length >= 48);
  const hours = await bars(page);
  t.ok(hours.count <= 49, `a bar per hour: ${hours.count}`);
  t.equal(hours.allowed, 4, 'the same figures by hour');
  t.same(problems, [], 'no script error or CSP violation');
  await page.close();
});

t.test('on a phone the chart fits the width', async (t) => {
  const problems: string[] = [];
  const page = await detailsOf({ width: 390, height: 844 }, problems);
  const box = await page.locator('#usage-chart svg').boundingBox();
  t.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `within the width: ${JSON.stringify(box)}`);
  t.same(problems, []);
  await page.close();
});
