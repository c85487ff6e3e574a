import { join } from 'node:path';
import t from 'tap';
import { FileStore } from '../../src/store/file-store.js';
import { call } from '../helpers/admin-client.js';
import { launchChromium } from '../helpers/browser.js';
import { startHarness } from '../helpers/harness.js';

// The admin page shows a token's limits in its details and edits them in the edit dialog.

const h = await startHarness({ store: await FileStore.open(join(t.testdir({}), 'ui.jsonl')) });
t.teardown(() => h.close());
const browser = await launchChromium();
t.teardown(() => browser.close());
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
page.setDefaultTimeout(5000);
const problems: string[] = [];
page.on('pageerror', (err) => problems.push(err.message));

const limits = { rate: { requests: 50, per: '1s' }, quota: { bytes: 10 * 1024 ** 3, per: '1d' }, streams: 2 };
const made = (await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'repository', name: 'scraper', repository: 'sensors', rights: ['query'], limits }))
  .body;
const row = () => page.locator('#tokens tbody tr', { has: page.locator('td.name .token-name', { hasText: /^scraper$/ }) });

await page.goto(`${h.admin}/ui/`);
await page.fill('#sign-in-token', h.adminSecret);
await page.click('#sign-in-form button[type=submit]');
await page.locator('#tokens tbody tr').first().waitFor();

t.test("the token's details show its limits", async (t) => {
  await row().locator('button', { hasText: 'Details' }).click();
  await page.locator('#token-details', { hasText: 'Limits' }).waitFor();
  t.match(await page.textContent('#token-details'), /Limits50 requests per 1s, 10GiB per 1d, 2 open streams/);
  await page.click('#history-close');
});

t.test('the edit dialog shows the limits and saves a change to them', async (t) => {
  await row().locator('button', { hasText: 'Edit' }).click();
  t.equal(await page.inputValue('#edit-rate'), '50/1s');
  t.equal(await page.inputValue('#edit-quota'), '10GiB/1d');
  t.equal(await page.inputValue('#edit-streams'), '2');
  await page.fill('#edit-streams', '3');
  await page.fill('#edit-quota', '');
  await page.click('#edit-form button[type=submit]');
  await page.locator('#edit-dialog').waitFor({ state: 'hidden' });
  t.same((await call(h, 'GET', `/v1/tokens/${made.token.id}`, h.adminSecret)).body.limits, { rate: limits.rate, streams: 3 });
});

t.test('a window the API refuses is shown with the field it names', async (t) => {
  await row().locator('button', { hasText: 'Edit' }).click();
  await page.fill('#edit-rate', '5/2h');
  await page.click('#edit-form button[type=submit]');
  await page.locator('#edit-error', { hasText: 'limits.rate.per' }).waitFor();
  t.match(await page.textContent('#edit-error'), /limits\.rate\.per: expected a duration from 1s to 1h/);
  await page.click('#edit-cancel');
  t.same(problems, [], 'no script errors');
});
