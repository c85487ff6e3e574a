import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { Page } from 'playwright-core';
import { FileStore } from '../../src/store/file-store.js';
import { call } from '../helpers/admin-client.js';
import { launchChromium } from '../helpers/browser.js';
import { startHarness } from '../helpers/harness.js';

// Screenshots for people to look at; not committed (.tap/ is ignored).
const shots = fileURLToPath(new URL('../../.tap/screenshots/', import.meta.url));
mkdirSync(shots, { recursive: true });

const h = await startHarness({ store: await FileStore.open(join(t.testdir({}), 'ui.jsonl')) });
t.teardown(() => h.close());
await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'alice', grants: { sensors: ['query', 'stream'] } });
const browser = await launchChromium();
t.teardown(() => browser.close());
const page: Page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const problems: string[] = [];
page.setDefaultTimeout(5000);
// Network statuses (the 401 of a wrong token) are expected; script errors and CSP violations are not.
page.on('console', (message) => message.type() === 'error' && !message.text().startsWith('Failed to load resource') && problems.push(message.text()));
page.on('pageerror', (err) => problems.push(err.message));
page.on('dialog', (dialog) => void dialog.accept());

const names = () => page.locator('#tokens tbody td.name').allTextContents();
const rowOf = (name: string) => page.locator('#tokens tbody tr', { has: page.locator('td.name', { hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) });

async function generate(fields: { kind?: 'personal'; name: string; repository?: string; user?: string; rights?: string[] }) {
  await page.click('#generate');
  if (fields.kind) await page.check('input[name="kind"][value="personal"]');
  await page.fill('#gen-name', fields.name);
  if (fields.repository) await page.selectOption('#gen-repository', fields.repository);
  if (fields.user) await page.fill('#gen-user', fields.user);
  for (const right of fields.rights ?? []) await page.check(`#gen-rights input[value="${right}"]`);
  await page.click('#gen-submit');
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  const secret = await page.inputValue('#secret');
  return secret;
}

t.test('every /ui/ response carries the security headers', async (t) => {
  for (const path of ['/ui/', '/ui/app.js', '/ui/style.css']) {
    const res = await request(`${h.admin}${path}`);
    await res.body.dump();
    t.equal(res.statusCode, 200, path);
    t.match(res.headers['content-security-policy'], /script-src 'self'/);
    t.notMatch(res.headers['content-security-policy'], /unsafe-inline/);
    t.equal(res.headers['x-frame-options'], 'DENY');
    t.equal(res.headers['referrer-policy'], 'no-referrer');
  }
  t.equal((await request(`${h.admin}/ui/secrets.txt`)).statusCode, 404);
});

t.test('sign in with a wrong token is refused, with the right one the table shows', async (t) => {
  await page.goto(`${h.admin}/ui/`);
  await page.fill('#sign-in-token', 'tgr_wrong');
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#sign-in-error', { hasText: 'malformed, unknown, revoked or expired' }).waitFor();
  await page.fill('#sign-in-token', h.adminSecret);
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#tokens tbody tr').first().waitFor();
  t.same(await names(), ['test admin']);
  t.equal(await page.evaluate(() => sessionStorage.getItem('tollgate.token')), h.adminSecret);
  await page.screenshot({ path: join(shots, 'tokens-empty.png') });
});

t.test('generate a repository token: the secret is shown once, with a warning', async (t) => {
  const secret = await generate({ name: 'ingest sensors', repository: 'sensors', rights: ['stream'] });
  t.match(secret, /^tgr_\w{49}$/);
  t.match(await page.textContent('#generate-result .warning'), /shown this once/);
  t.equal(await page.isVisible('#qr-figure'), false, 'no QR code for a repository token');
  await page.click('#gen-done');
  t.equal(await page.inputValue('#secret'), '', 'the secret leaves the page with the dialog');
  const proxied = await request(`${h.proxy}/v1/repositories/sensors/stream`, { method: 'POST', body: 'x', headers: { authorization: `Bearer ${secret}` } });
  t.equal(proxied.statusCode, 200, 'and it works on the proxy');
  await proxied.body.dump();
});

t.test('generate a personal token: the QR code is shown', async (t) => {
  await generate({ kind: 'personal', name: 'alice phone', repository: 'sensors', user: 'alice', rights: ['query'] });
  await page.locator('#qr').waitFor({ state: 'visible' });
  t.match(await page.getAttribute('#qr', 'src'), /^data:image\/svg\+xml;base64,/);
  t.ok(await page.evaluate(() => (document.getElementById('qr') as HTMLImageElement).naturalWidth > 0), 'the image decodes');
  await page.screenshot({ path: join(shots, 'personal-token-qr.png') });
  await page.click('#gen-done');
});

t.test('a hostile token name is shown as text', async (t) => {
  await generate({ name: '<img src=x onerror=alert(1)>', repository: 'billing' });
  await page.click('#gen-done');
  await rowOf('<img src=x onerror=alert(1)>').waitFor();
  t.equal(await page.locator('#tokens tbody img').count(), 0, 'no element was made from the name');
});

t.test('search is partial and case-insensitive; a pasted secret finds its token', async (t) => {
  await page.fill('#search', 'INGEST');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 1);
  t.same(await names(), ['ingest sensors']);
  const secret = await generate({ name: 'findable', repository: 'billing' });
  await page.click('#gen-done');
  await page.fill('#search', secret);
  await page.waitForFunction(() => [...document.querySelectorAll('#tokens tbody td.name')].map((n) => n.textContent).join() === 'findable');
  t.same(await names(), ['findable']);
  await page.fill('#search', '');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 5);
});

t.test('click sorts by a column, shift-click adds the next key; headers show direction and priority', async (t) => {
  await page.click('th[data-sort="repository"]');
  await page.click('th[data-sort="name"]', { modifiers: ['Shift'] });
  await page.click('th[data-sort="name"]', { modifiers: ['Shift'] }); // second shift-click: name descending
  await page.waitForFunction(() => document.querySelector('th[data-sort="name"]')?.textContent?.includes('▼2'));
  t.match(await page.textContent('th[data-sort="repository"]'), /▲1/);
  const rows = await page.locator('#tokens tbody tr').evaluateAll((trs) => trs.map((tr) => `${tr.children[3]!.textContent}/${tr.children[1]!.textContent}`));
  t.same(rows, ['*/test admin', 'billing/findable', 'billing/<img src=x onerror=alert(1)>', 'sensors/ingest sensors', 'sensors/alice phone']);
  await page.screenshot({ path: join(shots, 'tokens-sorted.png') });
});

t.test('revoke, restore, and delete (offered only once revoked)', async (t) => {
  const row = rowOf('findable');
  t.equal(await row.locator('button', { hasText: 'Delete' }).count(), 0, 'no delete while active');
  await row.locator('button', { hasText: 'Revoke' }).click();
  await row.locator('.badge.revoked').waitFor();
  await row.locator('button', { hasText: 'Restore' }).click();
  await row.locator('.badge.active').waitFor();
  await row.locator('button', { hasText: 'Revoke' }).click();
  await row.locator('button', { hasText: 'Delete' }).click();
  await rowOf('findable').waitFor({ state: 'detached' });
  t.notOk((await names()).includes('findable'));
});

t.test('history opens in a side panel', async (t) => {
  await rowOf('ingest sensors').locator('button', { hasText: 'Edit' }).click();
  await page.fill('#edit-name', 'ingest sensors v2');
  await page.uncheck('#edit-rights input[value="stream"]');
  await page.check('#edit-rights input[value="query"]');
  await page.click('#edit-form button[type=submit]');
  await rowOf('ingest sensors v2').waitFor();
  await rowOf('ingest sensors v2').locator('button', { hasText: 'History' }).click();
  await page.locator('#history-list > li').nth(1).waitFor();
  const entries = await page.locator('#history-list > li > strong').allTextContents();
  t.same(entries, ['created', 'edited']);
  t.match(await page.textContent("#history-list"), /rights: \["stream","query"\] → \["query"\]/);
  await page.screenshot({ path: join(shots, 'history.png') });
  await page.click('#history-close');
});

t.test('bulk delete deletes the revoked and reports the rest', async (t) => {
  const hostile = rowOf('<img src=x onerror=alert(1)>');
  await hostile.locator('button', { hasText: 'Revoke' }).click();
  await hostile.locator('.badge.revoked').waitFor();
  await hostile.locator('input[type=checkbox]').check();
  await rowOf('alice phone').locator('input[type=checkbox]').check();
  await page.click('#bulk-delete');
  await page.locator('#bulk-result', { hasText: 'Deleted 1' }).waitFor();
  t.match(await page.textContent('#bulk-result'), /Not deleted: alice phone: active/);
  await hostile.waitFor({ state: 'detached' });
});

t.test('users and grants page for * admins', async (t) => {
  await page.click('#nav-users');
  await page.locator('#users tbody tr').first().waitFor();
  await page.fill('#user-name', 'bob');
  await page.fill('#user-grants', 'sensors=query; billing=query,stream');
  await page.click('#user-form button[type=submit]');
  await page.locator('#users tbody tr', { hasText: 'bob' }).waitFor();
  const bob = await call(h, 'GET', '/v1/users/bob', h.adminSecret);
  t.same(bob.body.grants, { sensors: ['query'], billing: ['query', 'stream'] });
  await page.screenshot({ path: join(shots, 'users.png') });
  await page.click('[data-view="tokens"]');
});

t.test('paging follows the API cursor', async (t) => {
  for (let i = 0; i < 52; i++) await h.token(['query'], 'billing', { name: `bulk ${String(i).padStart(2, '0')}` });
  await page.fill('#search', 'bulk');
  await page.locator('#page-info', { hasText: '1–50 of 52' }).waitFor();
  await page.click('#next-page');
  await page.locator('#page-info', { hasText: '51–52 of 52' }).waitFor();
  t.equal(await page.locator('#tokens tbody tr').count(), 2);
  t.equal(await page.isDisabled('#next-page'), true);
  await page.click('#first-page');
  await page.locator('#page-info', { hasText: '1–50 of 52' }).waitFor();
  await page.fill('#search', '');
});

const rowById = (id: string) => page.locator(`#tokens tbody tr[data-id="${id}"]`);
const proxyStatus = async (secret: string, headers: Record<string, string> = {}) => {
  const res = await request(`${h.proxy}/v1/repositories/sensors/data`, { headers: { authorization: `Bearer ${secret}`, ...headers } });
  await res.body.dump();
  return res.statusCode;
};

t.test('roll: the new secret is shown once, and the old token is revoked or ends after the overlap', async (t) => {
  const now = await h.token(['query'], 'sensors', { name: 'rollable now', expiresIn: '10d' });
  const later = await h.token(['query'], 'sensors', { name: 'rollable later' });
  await page.fill('#search', 'rollable');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 2);

  await rowById(now.token.id).locator('button', { hasText: 'Roll' }).click();
  await page.locator('#roll-dialog').waitFor({ state: 'visible' });
  t.equal(await page.inputValue('#roll-overlap'), '0s', 'no overlap unless asked');
  await page.click('#roll-submit');
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  t.equal(await page.textContent('#generate-result-title'), 'Token rolled');
  t.match(await page.textContent('#generate-result .warning'), /shown this once/);
  const secret = await page.inputValue('#secret');
  t.match(secret, /^tgr_\w{49}$/);
  t.not(secret, now.secret);
  await page.click('#gen-done');
  t.equal(await page.inputValue('#secret'), '', 'the secret leaves the page with the dialog');
  await rowById(now.token.id).locator('.badge.revoked').waitFor();
  t.equal(await rowById(now.token.id).locator('button', { hasText: 'Roll' }).count(), 0, 'only an active token is offered a roll');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 3);
  t.equal(await proxyStatus(now.secret), 401, 'the old secret is revoked at once');
  t.equal(await proxyStatus(secret), 200, 'the new one works');

  await rowById(later.token.id).locator('button', { hasText: 'Roll' }).click();
  await page.selectOption('#roll-overlap', '1h');
  await page.click('#roll-submit');
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  await page.click('#gen-done');
  const ends = new Date(h.clock.now() + 3_600_000).toISOString();
  await page.waitForFunction(([id, iso]) => document.querySelector(`#tokens tbody tr[data-id="${id}"] td.expires`)?.getAttribute('title') === iso, [later.token.id, ends]);
  t.match(await rowById(later.token.id).locator('td.expires').textContent(), /^in (59 minutes|1 hour)$/, 'the old token shows its new expiry');
  t.equal(await proxyStatus(later.secret), 200, 'the old secret works during the overlap');

  await rowById(now.token.id).locator('button', { hasText: 'History' }).click();
  await page.locator('#history-list > li').nth(1).waitFor();
  t.same(await page.locator('#history-list > li > strong').allTextContents(), ['created', 'rolled']);
  const link = page.locator('#history-list .link-change button', { hasText: /^rollable now \(tgr_.*active\)$/ });
  await link.waitFor();
  t.match(await page.textContent('#history-list'), /rolled to token rollable now/);
  await page.screenshot({ path: join(shots, 'rolled-history.png') });
  await link.click();
  await page.locator('#history-list .link-change', { hasText: 'rolled from token rollable now' }).waitFor();
  t.not(await page.textContent('#token-details code'), now.token.id, 'the link opens the new token');
  await page.click('#history-close');
  await page.fill('#search', '');
});

t.test('the expiring-soon filter narrows the list, with the search', async (t) => {
  await h.token(['query'], 'billing', { name: 'expiry soon', expiresIn: '2d' });
  await h.token(['query'], 'billing', { name: 'expiry later', expiresIn: '20d' });
  await h.token(['query'], 'billing', { name: 'expiry never' });
  await page.fill('#search', 'expiry');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 3);
  await page.selectOption('#filter-expiring', '7d');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 1);
  t.same(await names(), ['expiry soon']);
  await page.selectOption('#filter-expiring', '30d');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 2);
  t.same((await names()).sort(), ['expiry later', 'expiry soon']);
  await page.screenshot({ path: join(shots, 'expiring-filter.png') });
  await page.selectOption('#filter-expiring', '');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 3);
  await page.fill('#search', '');
});

t.test('details show the last use (time, address, User-Agent) and the token that made this one', async (t) => {
  const parent = (await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'personal', name: 'lender', user: 'alice', repository: 'sensors', rights: ['query'] })).body;
  const child = (await call(h, 'POST', '/v1/tokens', parent.secret, { kind: 'personal', name: 'lent out', user: 'alice', repository: 'sensors', rights: ['query'] })).body;
  t.equal(await proxyStatus(child.secret, { 'user-agent': 'sensor-fw/4.2' }), 200);
  await h.tollgate.flushLastUsed();
  await page.fill('#search', 'lent out');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 1);
  t.match(await rowOf('lent out').locator('td.last-used').getAttribute('title'), /from 127\.0\.0\.1 by sensor-fw\/4\.2$/);
  await rowOf('lent out').locator('button', { hasText: 'History' }).click();
  await page.locator('#token-details', { hasText: 'sensor-fw/4.2' }).waitFor();
  const details = await page.textContent('#token-details');
  t.match(details, /Last used from127\.0\.0\.1/);
  t.match(details, /Last User-Agentsensor-fw\/4\.2/);
  await page.locator('#token-details button', { hasText: /^lender \(tgp_/ }).waitFor();
  t.match(await page.textContent('#token-details'), /Made bytoken lender/);
  await page.screenshot({ path: join(shots, 'token-details.png') });
  await page.click('#history-close');
  await page.fill('#search', '');
});

t.test('a personal token may leave the repository empty: it covers all the user repositories', async (t) => {
  await page.click('#generate');
  t.equal(await page.isVisible('#gen-user-label'), false, 'no user field for a repository token');
  t.match(await page.textContent('#gen-repository-hint'), /this repository only/);
  await page.check('input[name="kind"][value="personal"]');
  t.equal(await page.isVisible('#gen-user-label'), true);
  t.match(await page.textContent('#gen-repository-hint'), /may be left empty.*all the user's repositories \(\*\)/i);
  t.equal(await page.inputValue('#gen-repository'), '', 'empty is the default for a personal token');
  await page.fill('#gen-name', 'alice everywhere');
  await page.fill('#gen-user', 'alice');
  await page.click('#gen-submit');
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  await page.click('#gen-done');
  await rowOf('alice everywhere').waitFor();
  t.equal(await rowOf('alice everywhere').locator('td').nth(3).textContent(), '*');
});

t.test('a team is created, edited, its history read and deleted through the page', async (t) => {
  await page.click('#nav-teams');
  await page.locator('#teams tbody tr', { hasText: 'No teams yet.' }).waitFor();
  await page.click('#new-team');
  await page.fill('#team-name', 'ghosts');
  await page.fill('#team-members', 'nobody');
  await page.click('#team-submit');
  await page.locator('#team-error', { hasText: 'members.0: no user named nobody' }).waitFor();
  await page.fill('#team-name', 'platform');
  await page.fill('#team-members', 'alice');
  const first = page.locator('#team-grant-rows .grant-row').first();
  await first.locator('select').selectOption('sensors');
  await first.locator('input[value="query"]').check();
  await page.click('#team-submit');
  const row = page.locator('#teams tbody tr[data-team="platform"]');
  await row.waitFor();
  t.match(await call(h, 'GET', '/v1/teams/platform', h.adminSecret), { body: { members: ['alice'], grants: { sensors: ['query'] } } });

  await row.locator('button', { hasText: 'Edit' }).click();
  t.equal(await page.inputValue('#team-members'), 'alice');
  t.equal(await page.locator('#team-name').getAttribute('readonly'), '', 'a team keeps its name');
  await page.fill('#team-members', 'alice, bob');
  await page.locator('#team-grant-rows .grant-row').first().locator('input[value="stream"]').check();
  await page.click('#team-add-grant');
  const second = page.locator('#team-grant-rows .grant-row').nth(1);
  await second.locator('select').selectOption('billing');
  await second.locator('input[value="query"]').check();
  await page.screenshot({ path: join(shots, 'team-edit.png') });
  await page.click('#team-submit');
  await row.locator('td.members', { hasText: 'alice, bob' }).waitFor();
  const team = (await call(h, 'GET', '/v1/teams/platform', h.adminSecret)).body;
  t.same(team.members, ['alice', 'bob']);
  t.same(Object.fromEntries(Object.entries(team.grants as Record<string, string[]>).map(([repo, rights]) => [repo, [...rights].sort()])), { sensors: ['query', 'stream'], billing: ['query'] });
  t.same((await call(h, 'GET', '/v1/users/bob', h.adminSecret)).body.teams, ['platform']);
  await page.screenshot({ path: join(shots, 'teams.png') });

  await row.locator('button', { hasText: 'History' }).click();
  await page.locator('#history-list > li').nth(1).waitFor();
  t.same(await page.locator('#history-list > li > strong').allTextContents(), ['created', 'edited']);
  t.equal(await page.isVisible('#token-details'), false, 'no token details for a team');
  await page.click('#history-close');

  await row.locator('button', { hasText: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  t.equal((await call(h, 'GET', '/v1/teams/platform', h.adminSecret)).status, 404);
  await page.click('[data-view="tokens"]');
});

t.test('an expiry beyond admin.maxTokenLifetime is refused with the API detail shown', async (t) => {
  const capped = await startHarness({ config: { admin: { maxTokenLifetime: '30d' } } });
  t.teardown(() => capped.close());
  const other = await browser.newPage();
  t.teardown(() => other.close());
  other.setDefaultTimeout(5000);
  other.on('pageerror', (err) => problems.push(err.message));
  await other.goto(`${capped.admin}/ui/`);
  await other.fill('#sign-in-token', capped.adminSecret);
  await other.click('#sign-in-form button[type=submit]');
  await other.locator('#tokens tbody tr').first().waitFor();
  await other.click('#generate');
  // Only what the server accepts is offered: no "never", no 90 days under a 30-day cap.
  const disabled = await other.$$eval('#gen-expiry option', (options) => options.filter((o) => (o as HTMLOptionElement).disabled).map((o) => (o as HTMLOptionElement).value));
  t.same(disabled.sort(), ['90d', 'none']);
  t.equal(await other.inputValue('#gen-expiry'), '30d');
  await other.fill('#gen-name', 'too long');
  await other.selectOption('#gen-repository', 'sensors');
  await other.selectOption('#gen-expiry', 'custom');
  await other.fill('#gen-date', new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10));
  await other.click('#gen-submit');
  const error = other.locator('#gen-error', { hasText: 'expiresAt: must be within admin.maxTokenLifetime' });
  await error.waitFor();
  t.match(await error.textContent(), /^Invalid request \(400\): expiresAt: must be within admin\.maxTokenLifetime \(.+\)\. This server caps/);
  await other.screenshot({ path: join(shots, 'lifetime-refused.png') });
});

t.test('sign out clears the stored token', async (t) => {
  await page.click('#sign-out');
  await page.locator('#sign-in').waitFor({ state: 'visible' });
  t.equal(await page.evaluate(() => sessionStorage.getItem('tollgate.token')), null);
  t.same(problems, [], 'no script errors or CSP violations on the page');
});
