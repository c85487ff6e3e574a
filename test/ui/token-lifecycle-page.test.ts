import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { FileStore } from '../../src/store/file-store.js';
import { EVENT_TYPES } from '../../src/tokens/event-types.js';
import { call } from '../helpers/admin-client.js';
import { launchChromium } from '../helpers/browser.js';
import { startHarness } from '../helpers/harness.js';

// The page's side of safe rotation, labels, address bounds, dates and row actions
// (docs/admin-page.md), at a laptop's 1440x900 and a phone's 390x844. Screenshots go to
// /tmp/tollgate-lifecycle-shots for people to look at.

const shots = '/tmp/tollgate-lifecycle-shots';
mkdirSync(shots, { recursive: true });
const h = await startHarness({ store: await FileStore.open(join(t.testdir({}), 'ui.jsonl')) });
t.teardown(() => h.close());
const browser = await launchChromium();
t.teardown(() => browser.close());
const problems: string[] = [];

const admin = h.adminSecret;
const make = async (body: Record<string, unknown>) =>
  (await call(h, 'POST', '/v1/tokens', admin, { kind: 'repository', repository: 'sensors', rights: ['query'], ...body })).body as {
    token: { id: string };
    secret: string;
  };
await make({ name: 'ci-loader', expiresIn: '14d', labels: { owner: 'team-a' } });
await make({ name: 'tomorrow', expiresIn: '1d' });
const gone = await make({ name: 'gone', expiresIn: '1h' });
const revoked = await make({ name: 'revoked one' });
await call(h, 'POST', `/v1/tokens/${revoked.token.id}/revoke`, admin);
h.clock.advance(2 * 3_600_000); // `gone` has expired
t.teardown(() => h.clock.advance(-2 * 3_600_000));
void gone;

async function open(viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(5000);
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('dialog', (dialog) => {
    problems.push(`a browser dialog was opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  // The page's clock matches the server's fake one, so relative times read as the test means.
  await page.addInitScript((now: number) => {
    const offset = now - Date.now();
    const real = Date.now.bind(Date);
    Date.now = () => real() + offset;
  }, h.clock.now());
  await page.goto(`${h.admin}/ui/`);
  await page.fill('#sign-in-token', admin);
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#tokens tbody tr').first().waitFor();
  return page;
}

const rowOf = (page: Page, name: string) => page.locator('#tokens tbody tr', { has: page.locator('.token-name', { hasText: new RegExp(`^${name}$`) }) });
const buttonsOf = (page: Page, name: string) => rowOf(page, name).locator('td.row-actions button').allTextContents();

for (const [size, viewport] of [
  ['wide', { width: 1440, height: 900 }],
  ['phone', { width: 390, height: 844 }],
] as const) {
  t.test(`the token list at ${size} size`, async (t) => {
    const page = await open(viewport);
    t.teardown(() => page.close());

    t.test('dates read as people count, with the date beside; near expiry stands out; never used says so', async (t) => {
      t.match(await rowOf(page, 'ci-loader').locator('td.expires').textContent(), /^in 14 days · [A-Z][a-z]{2} \d{1,2}, \d{4}$/);
      t.equal(await rowOf(page, 'tomorrow').locator('td.expires.soon').count(), 1, 'expiring within the notice is highlighted');
      t.equal(await rowOf(page, 'ci-loader').locator('td.expires.soon').count(), 0);
      t.equal(await rowOf(page, 'ci-loader').locator('td.last-used').textContent(), 'never used');
    });

    t.test('row actions follow the state, with one destructive button at most', async (t) => {
      const active = await buttonsOf(page, 'ci-loader');
      t.ok(active.includes('Revoke') && active.includes('Roll') && !active.includes('Delete'), active.join());
      const expired = await buttonsOf(page, 'gone');
      t.ok(expired.includes('Delete') && expired.includes('Restore…') && !expired.includes('Revoke'), `expired: ${expired.join()}`);
      const ended = await buttonsOf(page, 'revoked one');
      t.ok(ended.includes('Restore') && ended.includes('Delete') && !ended.includes('Revoke'), ended.join());
      for (const name of ['ci-loader', 'gone', 'revoked one', 'tomorrow']) {
        t.ok((await rowOf(page, name).locator('td.row-actions button.danger').count()) <= 1, `${name}: at most one destructive button`);
      }
      await page.screenshot({ path: join(shots, `tokens-${size}.png`), fullPage: true });
    });
  });
}

t.test('roll defaults to a 24 h overlap; the old token then reads rolled and names its successor', async (t) => {
  const page = await open({ width: 1440, height: 900 });
  t.teardown(() => page.close());
  await rowOf(page, 'ci-loader').locator('button', { hasText: 'Roll' }).click();
  await page.locator('#roll-dialog').waitFor({ state: 'visible' });
  t.equal(await page.inputValue('#roll-overlap'), '24h', 'an overlap that keeps clients working');
  t.match(await page.textContent('#roll-overlap-hint'), /keeps working for 24 hours/);
  await page.selectOption('#roll-overlap', '0s');
  t.match(await page.textContent('#roll-overlap-hint'), /revoked at once/);
  t.equal(await page.textContent('#roll-submit'), 'Roll and revoke the old secret now', 'revoking now is a deliberate choice, said on the button');
  await page.selectOption('#roll-overlap', '24h');
  await page.screenshot({ path: join(shots, 'roll-dialog-wide.png') });
  await page.click('#roll-submit');
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  await page.click('#gen-done');
  await page.locator('#tokens .badge.rolled').waitFor();
  const rolled = page.locator('#tokens tbody tr', { has: page.locator('.badge.rolled') });
  t.same(await rolled.locator('td.row-actions button').allTextContents(), ['Details', 'Edit', 'Revoke'], 'a rolled token is revoked, not rolled again');
  await rolled.locator('button', { hasText: 'Details' }).click();
  await page.locator('#token-details', { hasText: 'Rolled into' }).waitFor();
  t.match(await page.textContent('#token-details'), /Rolled intotoken .*this secret keeps working until [A-Z][a-z]{2} \d{1,2}, \d{4}/);
  t.match(await page.textContent('#token-details'), /Labelsowner: team-a/);
  // The history arrives after the details (its own request): wait for its expiry line, as the
  // admin-page test waits for its entries, before reading it (CI read it empty once).
  await page.locator('#history-list > li', { hasText: 'expiry:' }).first().waitFor();
  const history = (await page.textContent('#history-list'))!;
  t.match(history, /expiry: [A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d UTC → [A-Z][a-z]{2} \d{1,2}, \d{4}/, 'an expiry change as dates');
  t.match(history, /labels: owner: team-a/);
  t.notMatch(history, /[{}"]|\d{4}-\d\d-\d\dT/, 'no JSON, no ISO times');
  await page.screenshot({ path: join(shots, 'rolled-details-wide.png') });
});

t.test("the signed-in token is warned before it revokes itself; confirmations are the page's own dialog", async (t) => {
  const page = await open({ width: 390, height: 844 });
  t.teardown(() => page.close());
  await page.selectOption('#filter-status', 'active');
  await rowOf(page, 'test admin').waitFor();
  await rowOf(page, 'test admin').locator('button', { hasText: 'Revoke' }).click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  t.match(await page.textContent('#confirm-warning'), /This is the token you are signed in with/);
  t.equal(await page.textContent('#confirm-submit'), 'Revoke and sign out');
  await page.screenshot({ path: join(shots, 'revoke-self-phone.png') });
  await page.click('#confirm-cancel');
  t.equal((await call(h, 'GET', '/v1/whoami', admin)).status, 200, 'cancel changed nothing');
});

t.test('a selection is cleared when a filter hides it, and the button counts it', async (t) => {
  const page = await open({ width: 1440, height: 900 });
  t.teardown(() => page.close());
  await rowOf(page, 'revoked one').locator('input[type=checkbox]').check();
  t.equal(await page.textContent('#bulk-delete'), 'Delete 1 selected');
  await page.selectOption('#filter-status', 'active');
  await page.waitForFunction(() => document.getElementById('bulk-delete')!.textContent === 'Delete selected');
  t.ok(await page.isDisabled('#bulk-delete'), 'nothing selected out of sight');
});

t.test('labels, allowed addresses and self-rotation are set from the generate dialog', async (t) => {
  const page = await open({ width: 390, height: 844 });
  t.teardown(() => page.close());
  await page.click('#generate');
  await page.locator('#generate-dialog').waitFor({ state: 'visible' });
  await page.fill('#gen-name', 'producer');
  await page.selectOption('#gen-repository', 'sensors');
  await page.check('#gen-rights input[value="query"]');
  await page.fill('#gen-labels', 'owner: team-b, pipeline: nightly');
  await page.fill('#gen-allow-from', '10.0.0.0/8, ::1');
  await page.check('#gen-self-rotate');
  await page.screenshot({ path: join(shots, 'generate-phone.png'), fullPage: true });
  await page.click('#gen-submit');
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  const made = (await call(h, 'GET', '/v1/tokens?q=producer', admin)).body.items[0];
  t.same([made.labels, made.allowFrom, made.selfRotate], [{ owner: 'team-b', pipeline: 'nightly' }, ['10.0.0.0/8', '::1'], true]);
});

for (const [size, viewport] of [
  ['wide', { width: 1440, height: 900 }],
  ['phone', { width: 390, height: 844 }],
] as const) {
  t.test(`the Events view lists the audit log with no webhook, filtered by type (${size})`, async (t) => {
    const page = await open(viewport);
    t.teardown(() => page.close());
    await page.click('#nav-events');
    await page.locator('#events tbody tr').first().waitFor();
    t.ok((await page.locator('#events tbody tr[data-type="token.created"]').count()) >= 4, 'every create is there');
    t.match(await page.locator('#events tbody tr').first().textContent(), /kept \(no webhook wants it\)/);
    const offered = await page.locator('#events-type option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    t.same(offered, ['', ...EVENT_TYPES], 'every event type webhooks send, from GET /v1/settings');
    await page.selectOption('#events-type', 'token.revoked');
    await page.waitForFunction(() => [...document.querySelectorAll('#events tbody tr')].every((row) => (row as HTMLElement).dataset.type === 'token.revoked'));
    t.ok((await page.locator('#events tbody tr').count()) >= 1);
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing sticks out sideways');
    await page.screenshot({ path: join(shots, `events-${size}.png`), fullPage: true });
  });
}

t.test('labels, addresses and self-rotation are edited in the edit dialog', async (t) => {
  const page = await open({ width: 1440, height: 900 });
  t.teardown(() => page.close());
  await rowOf(page, 'tomorrow').locator('button', { hasText: 'Edit' }).click();
  await page.locator('#edit-dialog').waitFor({ state: 'visible' });
  await page.fill('#edit-labels', 'owner: team-c');
  await page.fill('#edit-allow-from', '192.0.2.0/24');
  await page.check('#edit-self-rotate');
  await page.click('#edit-form button[type=submit]');
  await page.locator('#edit-dialog').waitFor({ state: 'hidden' });
  const edited = (await call(h, 'GET', '/v1/tokens?q=tomorrow', admin)).body.items[0];
  t.same([edited.labels, edited.allowFrom, edited.selfRotate], [{ owner: 'team-c' }, ['192.0.2.0/24'], true]);
});

t.test('no script errors and no browser dialogs', async (t) => {
  t.same(problems, []);
});
