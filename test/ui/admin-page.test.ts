import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import t from 'tap';
import { request } from 'undici';
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
// The two sizes the issue was seen at: a laptop and a phone held upright.
const WIDE = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const problems: string[] = [];
/** Every confirm() the page asked, accepted; a destructive action must name what will happen. */
const confirms: string[] = [];
/** How the next confirm() is answered: yes unless a test says no. */
let answer = true;

async function openPage(viewport: { width: number; height: number }): Promise<Page> {
  const opened = await browser.newPage({ viewport });
  opened.setDefaultTimeout(5000);
  // Network statuses (the 401 of a wrong token, a 409) are expected; script errors and CSP violations are not.
  opened.on('console', (message) => message.type() === 'error' && !message.text().startsWith('Failed to load resource') && problems.push(message.text()));
  opened.on('pageerror', (err) => problems.push(err.message));
  // The page asks in its own dialog (#confirm-dialog), never confirm(): a browser dialog is a fault.
  opened.on('dialog', (dialog) => {
    problems.push(`a browser dialog was opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  // Answers the page's dialog as a person would: read it (recorded) and press confirm or cancel.
  await opened.exposeFunction('tollgateAsked', (text: string) => {
    confirms.push(text);
    return answer;
  });
  await opened.addInitScript(() => {
    new MutationObserver(() => {
      const dialog = document.getElementById('confirm-dialog') as HTMLDialogElement | null;
      if (!dialog?.open || dialog.dataset.asked) return;
      dialog.dataset.asked = '1';
      const text = [...dialog.querySelectorAll('h2, p:not([hidden]), li')].map((node) => node.textContent).join(' ');
      void (window as unknown as { tollgateAsked(text: string): Promise<boolean> }).tollgateAsked(text).then((yes) => {
        delete dialog.dataset.asked;
        (document.getElementById(yes ? 'confirm-submit' : 'confirm-cancel') as HTMLButtonElement).click();
      });
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['open'] });
  });
  return opened;
}

async function signInOn(target: Page, secret: string) {
  await target.goto(`${h.admin}/ui/`);
  await target.fill('#sign-in-token', secret);
  await target.click('#sign-in-form button[type=submit]');
  await target.locator('#tokens tbody tr').first().waitFor();
}

/** Nothing sticks out sideways: no horizontal scrolling of the page. */
const pageFits = (target: Page) => target.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

/** The element is wholly within the viewport's width (reachable without scrolling sideways). */
async function withinWidth(target: Page, selector: string): Promise<boolean> {
  const boxes = await target.locator(selector).evaluateAll((nodes) => nodes.map((node) => node.getBoundingClientRect()).map((r) => [r.left, r.right]));
  const width = target.viewportSize()!.width;
  return boxes.length > 0 && boxes.every(([left, right]) => left! >= 0 && right! <= width);
}

const page = await openPage(WIDE);

const names = () => page.locator('#tokens tbody td.name .token-name').allTextContents();
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const rowOf = (name: string, on: Page = page) => on.locator('#tokens tbody tr', { has: on.locator('td.name .token-name', { hasText: exactly(name) }) });

async function generate(fields: { kind?: 'personal'; name: string; repository?: string; user?: string; rights?: string[] }) {
  await page.click('#generate');
  await page.locator('#generate-dialog').waitFor({ state: 'visible' });
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

/**
 * Waits until `count` elements of `selector` read `name`: the history and the names in it come
 * from separate requests, so the list may render before its actors are resolved.
 */
async function actorsNamed(page: Page, selector: string, name: string, count: number): Promise<void> {
  await page.waitForFunction(
    ([sel, text, n]) => [...document.querySelectorAll(sel as string)].filter((node) => node.textContent === text).length >= (n as number),
    [selector, name, count] as const,
  );
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

t.test('before sign-in only the sign-in form shows, at both sizes (the hidden attribute wins over display rules)', async (t) => {
  const phone = await openPage(PHONE);
  t.teardown(() => phone.close());
  for (const [size, target] of [
    ['wide', page],
    ['phone', phone],
  ] as const) {
    await target.goto(`${h.admin}/ui/`);
    await target.locator('#sign-in').waitFor({ state: 'visible' });
    for (const hidden of ['#nav', '#nav-tokens', '#nav-users', '#nav-teams', '#nav-repositories', '#sign-out', '#tokens-view', '#history-panel']) {
      t.equal(await target.isVisible(hidden), false, `${size}: ${hidden} hidden before sign-in`);
    }
    t.ok(await pageFits(target), `${size}: the sign-in page fits`);
    await target.screenshot({ path: join(shots, `sign-in-${size}.png`) });
  }
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
  t.equal(
    await page.textContent('#whoami'),
    'signed in as test admin (repository token, admin of all repositories)',
    'the token by name and kind, from /v1/whoami',
  );
  for (const shown of ['#nav-tokens', '#nav-repositories', '#nav-users', '#nav-teams', '#sign-out'])
    t.ok(await page.isVisible(shown), `${shown} shows for a * admin`);
  await page.screenshot({ path: join(shots, 'tokens-empty.png') });
});

t.test('the generate dialog: no repository preselected, only the fields that apply show', async (t) => {
  await page.click('#generate');
  await page.locator('#generate-dialog').waitFor({ state: 'visible' });
  t.equal(await page.inputValue('#gen-repository'), '', 'nothing chosen: * (all repositories) is never the default');
  t.ok(await page.locator('#gen-repository option[value="*"]').count(), '* may still be chosen on purpose');
  t.equal(await page.isVisible('#gen-user-label'), false, 'no User field for a repository token');
  t.equal(await page.inputValue('#gen-expiry'), '30d');
  t.equal(await page.isVisible('#gen-date-label'), false, 'no Date field for "in 30 days"');
  await page.selectOption('#gen-expiry', 'custom');
  t.equal(await page.isVisible('#gen-date-label'), true, 'the Date field for "on a date"');
  await page.selectOption('#gen-expiry', '30d');
  await page.fill('#gen-name', 'no repository');
  await page.click('#gen-submit');
  t.equal(
    await page.evaluate(() => (document.getElementById('gen-repository') as HTMLSelectElement).validity.valueMissing),
    true,
    'refused until a repository is chosen',
  );
  t.equal(await page.isVisible('#generate-result'), false);
  await page.check('input[name="kind"][value="personal"]');
  t.equal(await page.isVisible('#gen-user-label'), true, 'the User field for a personal token');
  t.equal(await page.inputValue('#gen-repository'), '', "nor * (all the user's repositories) for a personal token");
  await page.screenshot({ path: join(shots, 'generate-wide.png') });
  await page.click('#gen-cancel');
});

t.test('generate a repository token: the secret is shown whole once, with a summary of what was made', async (t) => {
  const secret = await generate({ name: 'ingest sensors', repository: 'sensors', rights: ['stream'] });
  t.match(secret, /^tgr_\w{49}$/);
  t.match(await page.textContent('#generate-result .warning'), /shown this once/);
  t.ok(
    await page.evaluate(() => {
      const area = document.getElementById('secret')!;
      return area.scrollWidth <= area.clientWidth && area.scrollHeight <= area.clientHeight;
    }),
    'the whole secret is in sight, wrapped',
  );
  const summary = await page.textContent('#created-summary');
  t.match(summary, /Nameingest sensors/);
  t.match(summary, /Kindrepository token/);
  t.match(summary, /Repositorysensors/);
  t.match(summary, /Rightsquery, stream|Rightsstream, query/);
  t.match(summary, /Expiresin 30 days · [A-Z][a-z]{2} \d{1,2}, \d{4}/);
  await page.screenshot({ path: join(shots, 'created-wide.png') });
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
  await page.locator('#total', { hasText: /^4 tokens in all$/ }).waitFor();
  t.equal(await page.isVisible('#show-all'), false, 'no "Show all" while nothing is filtered');
  await page.fill('#search', 'INGEST');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 1);
  t.same(await names(), ['ingest sensors']);
  await page.locator('#total', { hasText: /^1 of 4 tokens match$/ }).waitFor();
  const secret = await generate({ name: 'findable', repository: 'billing' });
  await page.click('#gen-done');
  await page.fill('#search', secret);
  await page.waitForFunction(() => [...document.querySelectorAll('#tokens tbody td.name .token-name')].map((n) => n.textContent).join() === 'findable');
  t.same(await names(), ['findable']);
  await page.locator('#total', { hasText: /^1 of 5 tokens match$/ }).waitFor();
  await page.screenshot({ path: join(shots, 'search-secret-wide.png') });
  await page.click('#show-all');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 5);
  t.equal(await page.inputValue('#search'), '', '"Show all" clears the search');
  await page.locator('#total', { hasText: /^5 tokens in all$/ }).waitFor();
});

t.test('click sorts by a column, shift-click adds the next key; headers show direction and priority', async (t) => {
  await page.click('th[data-sort="repository"]');
  await page.click('th[data-sort="name"]', { modifiers: ['Shift'] });
  await page.click('th[data-sort="name"]', { modifiers: ['Shift'] }); // second shift-click: name descending
  await page.waitForFunction(() => document.querySelector('th[data-sort="name"]')?.textContent?.includes('▼2'));
  t.match(await page.textContent('th[data-sort="repository"]'), /▲1/);
  const rows = await page
    .locator('#tokens tbody tr')
    .evaluateAll((trs) => trs.map((tr) => `${tr.querySelector('td.repository')!.textContent}/${tr.querySelector('.token-name')!.textContent}`));
  t.same(rows, ['*/test admin', 'billing/findable', 'billing/<img src=x onerror=alert(1)>', 'sensors/ingest sensors', 'sensors/alice phone']);
  await page.screenshot({ path: join(shots, 'tokens-sorted.png') });
});

t.test('revoke, restore, and delete (offered only once revoked); revoke and delete ask first, naming what happens', async (t) => {
  const row = rowOf('findable');
  t.equal(await row.locator('button', { hasText: 'Delete' }).count(), 0, 'no delete while active');
  confirms.length = 0;
  await row.locator('button', { hasText: 'Revoke' }).click();
  await row.locator('.badge.revoked').waitFor();
  t.match(confirms, [
    /^Revoke token findable\? Token "findable" \(billing, tgr_\w{8}…\) stops working at once, and so do the tokens it lent\. It can be restored later\.$/,
  ]);
  await row.locator('button', { hasText: 'Restore' }).click();
  await row.locator('.badge.active').waitFor();
  await row.locator('button', { hasText: 'Revoke' }).click();
  await row.locator('.badge.revoked').waitFor();
  await row.locator('button', { hasText: 'Delete' }).click();
  await rowOf('findable').waitFor({ state: 'detached' });
  t.notOk((await names()).includes('findable'));
  t.equal(confirms.length, 3, 'restore asks nothing; revoke twice and delete once did');
  t.match(confirms[2], /^Delete token findable\? Token "findable" \(billing, tgr_\w{8}…\) is deleted for good: it cannot be restored/);
});

t.test('a declined confirmation changes nothing', async (t) => {
  answer = false;
  t.teardown(() => (answer = true));
  confirms.length = 0;
  await rowOf('ingest sensors').locator('button', { hasText: 'Revoke' }).click();
  await page.waitForFunction(() => !(document.getElementById('confirm-dialog') as HTMLDialogElement).open);
  t.equal(confirms.length, 1, 'it asked');
  // A revoke would have been sent as the dialog closed, before this read.
  await page.evaluate(() => fetch('/ui/style.css').then((res) => res.text()));
  t.equal((await call(h, 'GET', `/v1/tokens?q=${encodeURIComponent('ingest sensors')}`, h.adminSecret)).body.items[0].status, 'active');
  t.equal(await rowOf('ingest sensors').locator('.badge.active').count(), 1);
});

t.test('history opens in a side panel', async (t) => {
  await rowOf('ingest sensors').locator('button', { hasText: 'Edit' }).click();
  await page.fill('#edit-name', 'ingest sensors v2');
  await page.uncheck('#edit-rights input[value="stream"]');
  await page.check('#edit-rights input[value="query"]');
  await page.click('#edit-form button[type=submit]');
  await rowOf('ingest sensors v2').waitFor();
  await rowOf('ingest sensors v2').locator('button', { hasText: 'Details' }).click();
  await page.locator('#history-list > li').nth(1).waitFor();
  const entries = await page.locator('#history-list > li > strong').allTextContents();
  t.same(entries, ['created', 'edited']);
  const history = (await page.textContent('#history-list'))!;
  t.match(history, /rights: stream, query → query/, 'rights as people read them, not JSON');
  t.match(history, /renamed "ingest sensors" to "ingest sensors v2"/, 'a rename as a sentence');
  t.notMatch(history, /null/, 'no null -> null noise, and a first value reads as the value');
  t.notMatch(history, /token:/, 'actors by name, not token:<id>');
  await actorsNamed(page, '#history-list .actor', 'test admin', 2);
  t.equal(await page.locator('#history-list .actor', { hasText: /^test admin$/ }).count(), 2, 'the creating and the editing token by name');
  await page.locator('#token-details .actor', { hasText: /^test admin$/ }).waitFor();
  t.match(await page.textContent('#token-details'), /Created.* by test admin/);
  // The API leaves unchanged fields out of history (a repository token's user; an independent token's maker).
  const id = await rowOf('ingest sensors v2').getAttribute('data-id');
  const api = (await call(h, 'GET', `/v1/tokens/${id}/history`, h.adminSecret)).body.items as { changes: Record<string, { from: unknown; to: unknown }> }[];
  t.same(
    Object.keys(api[0]!.changes).sort(),
    ['expiresAt', 'kind', 'lent', 'name', 'repository', 'rights'],
    'no user: a repository token has none; no maker: it is independent',
  );
  t.ok(
    api.every((entry) => Object.values(entry.changes).every((change) => JSON.stringify(change.from) !== JSON.stringify(change.to))),
    'no change that changed nothing',
  );
  await page.screenshot({ path: join(shots, 'history-wide.png') });
  await page.click('#history-close');
});

t.test('bulk delete deletes the revoked and reports the rest', async (t) => {
  const hostile = rowOf('<img src=x onerror=alert(1)>');
  await hostile.locator('button', { hasText: 'Revoke' }).click();
  await hostile.locator('.badge.revoked').waitFor();
  await hostile.locator('input[type=checkbox]').check();
  await rowOf('alice phone').locator('input[type=checkbox]').check();
  confirms.length = 0;
  await page.click('#bulk-delete');
  await page.locator('#bulk-result', { hasText: 'Deleted 1 of 2' }).waitFor();
  t.match(confirms, [
    /^Delete 2 tokens\? These are deleted for good and cannot be restored; their history is kept\. 1 of them still works and will be left as it is \(revoke first\)\. /,
  ]);
  t.match(confirms[0], /"<img src=x onerror=alert\(1\)>" \(billing, /);
  t.match(confirms[0], /"alice phone" \(sensors, user alice, /);
  t.match(await page.textContent('#bulk-result'), /Not deleted: "alice phone" \(sensors, user alice, tgp_\w{8}…\): it is active: revoke it first/);
  await hostile.waitFor({ state: 'detached' });
});

t.test('users: grants edited as a grid of repositories x rights; delete asks first', async (t) => {
  await page.click('#nav-users');
  await page.locator('#users tbody tr').first().waitFor();
  await page.click('#new-user');
  await page.locator('#user-dialog').waitFor({ state: 'visible' });
  t.same(
    await page.locator('#user-grid tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.repository)),
    ['*', 'billing', 'sensors'],
    'a row per repository, and *',
  );
  t.same(await page.locator('#user-grid thead th').allTextContents(), ['Repository', 'stream', 'query', 'modify', 'delete', 'admin'], 'a column per right');
  await page.fill('#user-name', 'bob');
  await page.check('#user-grid input[aria-label="sensors query"]');
  await page.check('#user-grid input[aria-label="billing query"]');
  await page.check('#user-grid input[aria-label="billing stream"]');
  await page.screenshot({ path: join(shots, 'user-grid-wide.png') });
  await page.click('#user-submit');
  const bobRow = page.locator('#users tbody tr[data-user="bob"]');
  await bobRow.waitFor();
  const bob = await call(h, 'GET', '/v1/users/bob', h.adminSecret);
  t.same(bob.body.grants, { sensors: ['query'], billing: ['stream', 'query'] });

  await bobRow.locator('button', { hasText: 'Edit grants' }).click();
  await page.locator('#user-dialog').waitFor({ state: 'visible' });
  t.equal(await page.isChecked('#user-grid input[aria-label="billing stream"]'), true, 'the grid shows the grants held');
  t.equal(await page.locator('#user-name').getAttribute('readonly'), '', 'a user keeps its name');
  await page.uncheck('#user-grid input[aria-label="billing stream"]');
  await page.uncheck('#user-grid input[aria-label="billing query"]');
  await page.check('#user-grid input[aria-label="sensors stream"]');
  await page.click('#user-submit');
  await bobRow.locator('td.grants-text', { hasText: /^sensors: stream, query$/ }).waitFor();
  t.same(
    (await call(h, 'GET', '/v1/users/bob', h.adminSecret)).body.grants,
    { sensors: ['stream', 'query'] },
    'a repository left without a right leaves the grants',
  );
  await page.screenshot({ path: join(shots, 'users-wide.png') });

  await call(h, 'POST', '/v1/users', h.adminSecret, { name: 'carol', grants: {} });
  await page.click('#nav-users');
  confirms.length = 0;
  await page.locator('#users tbody tr[data-user="carol"] button', { hasText: 'Delete' }).click();
  await page.locator('#users tbody tr[data-user="carol"]').waitFor({ state: 'detached' });
  t.match(confirms, [
    /^Delete user carol\? Their personal tokens \(and the tokens those made\) are revoked at once, they leave every team, and the user is removed\.$/,
  ]);
  await page.click('[data-view="tokens"]');
});

t.test('repositories: a page to create, list and delete them; a refused delete says why and what to do', async (t) => {
  await page.click('#nav-repositories');
  await page.locator('#repositories tbody tr[data-repository="sensors"]').waitFor();
  await page.fill('#repository-name', 'archive');
  await page.click('#repository-form button[type=submit]');
  const archive = page.locator('#repositories tbody tr[data-repository="archive"]');
  await archive.waitFor();
  await archive.locator('.actor', { hasText: /^test admin$/ }).waitFor();
  const held = await h.token(['query'], 'archive', { name: 'archive reader' });
  confirms.length = 0;
  await archive.locator('button', { hasText: 'Delete' }).click();
  const error = page.locator('#repository-error', { hasText: 'archive was not deleted' });
  await error.waitFor();
  t.match(confirms, [/^Delete repository archive\? It is refused while active tokens use it\./]);
  t.match(
    await error.textContent(),
    /^archive was not deleted: repository archive still has 1 active token; revoke them first\. Once none is left, delete it again\. Show the active tokens of archive$/,
  );
  await page.screenshot({ path: join(shots, 'repositories-409-wide.png') });
  await error.locator('button', { hasText: 'Show the active tokens of archive' }).click();
  await page.locator('#tokens-view').waitFor({ state: 'visible' });
  await page.waitForFunction(() => [...document.querySelectorAll('#tokens tbody td.name .token-name')].map((n) => n.textContent).join() === 'archive reader');
  t.equal(await page.inputValue('#filter-status'), 'active');
  await rowOf('archive reader').locator('button', { hasText: 'Revoke' }).click();
  await page.locator('#tokens tbody tr').first().waitFor({ state: 'detached' });
  t.equal((await call(h, 'GET', `/v1/tokens/${held.token.id}`, h.adminSecret)).body.status, 'revoked');
  await page.click('#nav-repositories');
  await archive.locator('button', { hasText: 'Delete' }).click();
  await archive.waitFor({ state: 'detached' });
  t.equal(
    (await call(h, 'GET', '/v1/repositories', h.adminSecret)).body.items.some((repo: { name: string }) => repo.name === 'archive'),
    false,
  );
  await page.click('[data-view="tokens"]');
  await page.click('#show-all');
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
  t.equal(await page.inputValue('#roll-overlap'), '24h', 'an overlap that keeps clients working unless revoking now is chosen');
  await page.selectOption('#roll-overlap', '0s');
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

  // The page reads its relative times off the wall clock: the server's (fake) clock is set to it,
  // so the overlap's end is 1 hour from the page's now however long the file took to get here.
  h.clock.ms = Math.max(h.clock.ms, Date.now());
  await rowById(later.token.id).locator('button', { hasText: 'Roll' }).click();
  await page.selectOption('#roll-overlap', '1h');
  await page.click('#roll-submit');
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  await page.click('#gen-done');
  await page.waitForFunction((id) => document.querySelector(`#tokens tbody tr[data-id="${id}"] .badge`)?.textContent === 'rolled', later.token.id);
  t.match(
    await rowById(later.token.id).locator('td.expires').textContent(),
    /^in 1 hour · [A-Z][a-z]{2} \d{1,2}, \d{4}$/,
    'the old token shows its new expiry',
  );
  t.equal(await proxyStatus(later.secret), 200, 'the old secret works during the overlap');

  await rowById(now.token.id).locator('button', { hasText: 'Details' }).click();
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

t.test('details show the last use (time, address, User-Agent) and the token that lent this one', async (t) => {
  const parent = (
    await call(h, 'POST', '/v1/tokens', h.adminSecret, { kind: 'personal', name: 'lender', user: 'alice', repository: 'sensors', rights: ['query'] })
  ).body;
  const child = (
    await call(h, 'POST', '/v1/tokens', parent.secret, { kind: 'personal', name: 'lent out', user: 'alice', repository: 'sensors', rights: ['query'] })
  ).body;
  t.equal(await proxyStatus(child.secret, { 'user-agent': 'sensor-fw/4.2' }), 200);
  await h.tollgate.flushLastUsed();
  await page.fill('#search', 'lent out');
  await page.waitForFunction(() => document.querySelectorAll('#tokens tbody tr').length === 1);
  t.match(await rowOf('lent out').locator('td.last-used').getAttribute('title'), /from 127\.0\.0\.1 by sensor-fw\/4\.2$/);
  await rowOf('lent out').locator('button', { hasText: 'Details' }).click();
  await page.locator('#token-details', { hasText: 'sensor-fw/4.2' }).waitFor();
  const details = await page.textContent('#token-details');
  t.match(details, /Last used from127\.0\.0\.1/);
  t.match(details, /Last User-Agentsensor-fw\/4\.2/);
  await page.locator('#token-details button', { hasText: /^lender \(tgp_/ }).waitFor();
  t.match(await page.textContent('#token-details'), /Lent bytoken lender/);
  t.match(await rowOf('lent out').locator('td.name .sub').textContent(), /^personal · lent · tgp_/, 'the list says it is lent');
  await page.screenshot({ path: join(shots, 'token-details.png') });
  await page.click('#history-close');
  await page.fill('#search', '');
});

t.test('generate offers to lend: a lent token is bound to the signed-in token, an independent one is not', async (t) => {
  const whoami = (await call(h, 'GET', '/v1/whoami', h.adminSecret)).body;
  for (const lend of [true, false]) {
    await page.click('#generate');
    await page.fill('#gen-name', lend ? 'lent from the page' : 'independent from the page');
    await page.selectOption('#gen-repository', 'sensors');
    t.equal(await page.isChecked('#gen-lend'), false, 'an admin chooses; not lent unless asked');
    if (lend) await page.check('#gen-lend');
    if (lend) await page.screenshot({ path: join(shots, 'generate-lend.png') });
    await page.click('#gen-submit');
    await page.locator('#generate-result').waitFor();
    await page.click('#gen-done');
  }
  const list = (await call(h, 'GET', '/v1/tokens?q=from%20the%20page', h.adminSecret)).body.items as Array<{
    name: string;
    lent: boolean;
    parentId: string | null;
  }>;
  const byName = new Map(list.map((item) => [item.name, item]));
  t.match(byName.get('lent from the page'), { lent: true, parentId: whoami.token.id });
  t.match(byName.get('independent from the page'), { lent: false, parentId: null });
});

t.test("a personal token on * covers all the user's repositories, when chosen on purpose", async (t) => {
  await page.click('#generate');
  await page.locator('#generate-dialog').waitFor({ state: 'visible' });
  t.match(await page.textContent('#gen-repository-hint'), /this repository only/);
  await page.check('input[name="kind"][value="personal"]');
  t.match(await page.textContent('#gen-repository-hint'), /all the user's repositories with \*/);
  t.equal(await page.inputValue('#gen-repository'), '', 'not preselected');
  await page.selectOption('#gen-repository', '*');
  await page.fill('#gen-name', 'alice everywhere');
  await page.fill('#gen-user', 'alice');
  await page.click('#gen-submit');
  await page.locator('#created-summary', { hasText: "Repository* (all the user's repositories)" }).waitFor();
  await page.locator('#generate-result').waitFor({ state: 'visible' });
  await page.click('#gen-done');
  await rowOf('alice everywhere').waitFor();
  t.equal(await rowOf('alice everywhere').locator('td.repository').textContent(), '*');
});

t.test('a team is created, edited, its history read and deleted through the page', async (t) => {
  await page.click('#nav-teams');
  await page.locator('#teams tbody tr', { hasText: 'No teams yet.' }).waitFor();
  await page.click('#new-team');
  await page.locator('#team-dialog').waitFor({ state: 'visible' });
  await page.fill('#team-name', 'ghosts');
  await page.fill('#team-members', 'nobody');
  await page.click('#team-submit');
  await page.locator('#team-error', { hasText: 'members.0: no user named nobody' }).waitFor();
  await page.fill('#team-name', 'platform');
  await page.fill('#team-members', 'alice');
  await page.check('#team-grid input[aria-label="sensors query"]');
  await page.click('#team-submit');
  const row = page.locator('#teams tbody tr[data-team="platform"]');
  await row.waitFor();
  t.match(await call(h, 'GET', '/v1/teams/platform', h.adminSecret), { body: { members: ['alice'], grants: { sensors: ['query'] } } });

  await row.locator('button', { hasText: 'Edit' }).click();
  await page.locator('#team-dialog').waitFor({ state: 'visible' });
  t.equal(await page.inputValue('#team-members'), 'alice');
  t.equal(await page.locator('#team-name').getAttribute('readonly'), '', 'a team keeps its name');
  await page.fill('#team-members', 'alice, bob');
  t.equal(await page.isChecked('#team-grid input[aria-label="sensors query"]'), true, 'the grid shows the grants held');
  await page.check('#team-grid input[aria-label="sensors stream"]');
  await page.check('#team-grid input[aria-label="billing query"]');
  await page.screenshot({ path: join(shots, 'team-edit-wide.png') });
  await page.click('#team-submit');
  await row.locator('td.members', { hasText: 'alice, bob' }).waitFor();
  const team = (await call(h, 'GET', '/v1/teams/platform', h.adminSecret)).body;
  t.same(team.members, ['alice', 'bob']);
  t.same(Object.fromEntries(Object.entries(team.grants as Record<string, string[]>).map(([repo, rights]) => [repo, [...rights].sort()])), {
    sensors: ['query', 'stream'],
    billing: ['query'],
  });
  t.same((await call(h, 'GET', '/v1/users/bob', h.adminSecret)).body.teams, ['platform']);
  await page.screenshot({ path: join(shots, 'teams-wide.png') });

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

t.test('the edit dialog shows the date only for "on a date"', async (t) => {
  await page.fill('#search', 'ingest sensors v2');
  await rowOf('ingest sensors v2').locator('button', { hasText: 'Edit' }).click();
  t.equal(await page.inputValue('#edit-expiry'), 'keep');
  t.equal(await page.isVisible('#edit-date-label'), false, 'no Date field for "keep as it is"');
  await page.selectOption('#edit-expiry', 'custom');
  t.equal(await page.isVisible('#edit-date-label'), true);
  await page.selectOption('#edit-expiry', '7d');
  t.equal(await page.isVisible('#edit-date-label'), false);
  await page.click('#edit-cancel');
  await page.click('#show-all');
});

t.test('at 1440 px the token table fits: every column and every row action is in sight', async (t) => {
  const busy = (
    await call(h, 'POST', '/v1/tokens', h.adminSecret, {
      kind: 'personal',
      name: 'a rather long token name for the build farm in the basement',
      user: 'alice',
      repository: 'sensors',
      rights: ['stream', 'query'],
    })
  ).body;
  t.equal(await proxyStatus(busy.secret, { 'user-agent': 'farm/1.0' }), 200);
  await h.tollgate.flushLastUsed();
  await page.click('th[data-sort="lastUsedAt"]'); // the tokens used come first, with all their columns filled
  await rowOf('a rather long token name for the build farm in the basement').waitFor();
  t.same(
    await page
      .locator('#tokens thead th')
      .allTextContents()
      .then((all) => all.map((text) => text.replace(/ [▲▼]\d?$/, ''))),
    ['', 'Name', 'Repository', 'User', 'Rights', 'Status', 'Expires', 'Last used', 'Actions'],
  );
  t.ok(
    await page
      .locator('.table-wrap')
      .first()
      .evaluate((wrap) => wrap.scrollWidth <= wrap.clientWidth),
    'the table needs no sideways scroll',
  );
  t.ok(await withinWidth(page, '#tokens thead th'), 'every header, "Last used" included, is in sight');
  t.ok(await withinWidth(page, '#tokens tbody td.row-actions button'), 'every row action is in sight');
  t.ok(await pageFits(page));
  t.equal(await page.isVisible('#sort-select'), false, 'the headers sort here; the phone-only sort select is hidden');
  await page.screenshot({ path: join(shots, 'tokens-wide.png') });
});

t.test('a personal token without admin is offered only what it may do (at 390 px)', async (t) => {
  const own = (
    await call(h, 'POST', '/v1/tokens', h.adminSecret, {
      kind: 'personal',
      name: 'alice laptop',
      user: 'alice',
      repository: 'sensors',
      rights: ['query', 'stream'],
    })
  ).body;
  const phone = await openPage(PHONE);
  t.teardown(() => phone.close());
  await signInOn(phone, own.secret);
  t.equal(await phone.textContent('#whoami'), "signed in as alice laptop (personal token of alice, without admin: its own user's personal tokens)");
  for (const hidden of ['#nav-repositories', '#nav-users', '#nav-teams', '#bulk-delete', '#select-all'])
    t.equal(await phone.isVisible(hidden), false, `${hidden} not offered`);
  const row = rowOf('alice laptop', phone);
  await row.waitFor();
  t.same(await row.locator('td.row-actions button').allTextContents(), ['Details', 'Revoke'], 'no Edit, Roll or Delete it would be refused');
  t.ok(await pageFits(phone));
  await phone.screenshot({ path: join(shots, 'personal-tokens-phone.png'), fullPage: true });

  await phone.click('#generate');

  await phone.locator('#generate-dialog').waitFor({ state: 'visible' });
  t.equal(await phone.isVisible('input[name="kind"][value="repository"]'), false, 'no repository tokens');
  t.equal(await phone.isChecked('input[name="kind"][value="personal"]'), true);
  t.equal(await phone.inputValue('#gen-user'), 'alice');
  t.equal(await phone.locator('#gen-user').getAttribute('readonly'), '', 'for its own user only');
  t.same(
    await phone.locator('#gen-repository option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value)),
    ['sensors'],
    'within its own repository',
  );
  const offered = await phone.locator('#gen-rights input:not([disabled])').evaluateAll((boxes) => boxes.map((box) => (box as HTMLInputElement).value));
  t.same(offered, ['stream', 'query'], 'only the rights it holds');
  t.equal(await phone.isVisible('#gen-date-label'), false);
  t.ok(await withinWidth(phone, '#generate-dialog'), 'the dialog fits the phone');
  await phone.fill('#gen-name', 'alice tablet');
  await phone.click('#gen-submit');
  await phone.locator('#generate-result').waitFor({ state: 'visible' });
  t.match(await phone.textContent('#created-summary'), /Kindpersonal token of alice/);
  t.ok(
    await phone.evaluate(() => {
      const area = document.getElementById('secret')!;
      return area.scrollWidth <= area.clientWidth && area.scrollHeight <= area.clientHeight;
    }),
    'the whole secret is in sight on a phone too',
  );
  await phone.screenshot({ path: join(shots, 'personal-created-phone.png') });
  await phone.click('#gen-done');
  await rowOf('alice tablet', phone).locator('.badge.active').waitFor();
  confirms.length = 0;
  await rowOf('alice tablet', phone).locator('button', { hasText: 'Revoke' }).click();
  await rowOf('alice tablet', phone).locator('.badge.revoked').waitFor();
  t.match(confirms, [/^Revoke token alice tablet\? Token "alice tablet" \(sensors, user alice, tgp_\w{8}…\) stops working/]);
  t.same(
    await rowOf('alice tablet', phone).locator('td.row-actions button').allTextContents(),
    ['Details', 'Restore'],
    'no Delete for a personal token without admin',
  );
  await rowOf('alice tablet', phone).locator('button', { hasText: 'Details' }).click();
  await phone
    .locator('#history-list .actor', { hasText: /^alice$/ })
    .first()
    .waitFor();
  t.ok(await withinWidth(phone, '#history-panel'), 'the details panel fits the phone');
  await phone.screenshot({ path: join(shots, 'personal-details-phone.png') });
});

t.test('a scoped admin is offered only the repositories it administers', async (t) => {
  const scoped = await h.token(['admin', 'query'], 'sensors', { name: 'sensors admin' });
  const other = await openPage(WIDE);
  t.teardown(() => other.close());
  await signInOn(other, scoped.secret);
  t.equal(await other.textContent('#whoami'), 'signed in as sensors admin (repository token, admin of sensors)');
  t.equal(await other.isVisible('#nav-repositories'), true);
  t.equal(await other.isVisible('#nav-users'), false);
  t.equal(await other.isVisible('#nav-teams'), false);
  await other.click('#generate');
  await other.locator('#generate-dialog').waitFor({ state: 'visible' });
  t.same(
    await other.locator('#gen-repository option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value)),
    ['sensors'],
    'no *, no billing',
  );
  t.equal(await other.isVisible('input[name="kind"][value="personal"]'), false, 'a repository token makes no personal tokens');
  t.same(await other.locator('#gen-rights input:not([disabled])').evaluateAll((boxes) => boxes.map((box) => (box as HTMLInputElement).value)), [
    'query',
    'admin',
  ]);
  await other.click('#gen-cancel');
  await other.click('#nav-repositories');
  await other.locator('#repositories tbody tr[data-repository="sensors"]').waitFor();
  t.equal(await other.isVisible('#repository-form'), false, 'only * admins create repositories');
  t.equal(await other.locator('#repositories button', { hasText: 'Delete' }).count(), 0, 'nor delete them');
});

t.test('at 390 px a * admin reaches everything without sideways scrolling', async (t) => {
  const phone = await openPage(PHONE);
  t.teardown(() => phone.close());
  await signInOn(phone, h.adminSecret);
  t.ok(await pageFits(phone), 'the token list fits');
  t.ok(await withinWidth(phone, '#sign-out'), '"Sign out" is in sight');
  t.ok(await withinWidth(phone, '#nav button'), 'every nav button is in sight');
  t.ok(await withinWidth(phone, '.toolbar > *'), 'the toolbar wraps');
  t.equal(await phone.isVisible('#tokens thead'), false, 'a card per token, no header row');
  await phone.selectOption('#sort-select', 'name'); // so a phone still sorts
  await phone.waitForFunction(() => {
    const shown = [...document.querySelectorAll('#tokens tbody .token-name')].map((node) => node.textContent!);
    return shown.length > 1 && shown.every((name, i) => i === 0 || shown[i - 1]!.localeCompare(name) <= 0);
  });
  t.ok(await withinWidth(phone, '#tokens tbody td.row-actions button'), 'every row action is in sight');
  await phone.screenshot({ path: join(shots, 'tokens-phone.png') });

  await phone.fill('#search', 'ingest sensors v2');
  await phone.locator('#total', { hasText: /^1 of \d+ tokens match$/ }).waitFor();
  t.ok(await withinWidth(phone, '#show-all'), '"Show all" is in sight');
  await rowOf('ingest sensors v2', phone).locator('button', { hasText: 'Details' }).click();
  await phone.locator('#token-details .actor', { hasText: /^test admin$/ }).waitFor();
  await actorsNamed(phone, '#history-list .actor', 'test admin', 2);
  t.equal(await phone.locator('#history-list .actor', { hasText: /^test admin$/ }).count(), 2, 'actors by name on a phone too');
  t.notMatch(await phone.textContent('#history-list'), /null|token:/);
  t.ok(await withinWidth(phone, '#history-panel'));
  await phone.screenshot({ path: join(shots, 'history-phone.png') });
  await phone.click('#history-close');
  await phone.click('#show-all');
  await phone.locator('#total', { hasText: /^\d+ tokens in all$/ }).waitFor();

  await phone.click('#generate');

  await phone.locator('#generate-dialog').waitFor({ state: 'visible' });
  t.equal(await phone.inputValue('#gen-repository'), '', 'no repository preselected');
  t.equal(await phone.isVisible('#gen-user-label'), false);
  t.equal(await phone.isVisible('#gen-date-label'), false);
  t.ok(await withinWidth(phone, '#generate-dialog'));
  await phone.screenshot({ path: join(shots, 'generate-phone.png') });
  await phone.click('#gen-cancel');

  await phone.locator('#tokens tbody tr').first().locator('button', { hasText: 'Edit' }).click();
  t.equal(await phone.isVisible('#edit-date-label'), false, 'no Date for "keep as it is"');
  t.ok(await withinWidth(phone, '#edit-dialog'));
  await phone.click('#edit-cancel');

  for (const view of ['users', 'teams', 'repositories']) {
    await phone.click(`#nav-${view}`);
    await phone.locator(`#${view}-view`).waitFor({ state: 'visible' });
    await phone.locator(`#${view} tbody tr`).first().waitFor();
    t.ok(await pageFits(phone), `the ${view} page fits`);
    await phone.screenshot({ path: join(shots, `${view}-phone.png`), fullPage: true });
  }
  await phone.click('#nav-users');
  await phone.locator('#users tbody tr[data-user="bob"] button', { hasText: 'Edit grants' }).click();
  await phone.locator('#user-dialog').waitFor({ state: 'visible' });
  t.ok(await withinWidth(phone, '#user-dialog'), 'the grants dialog fits');
  t.ok(await withinWidth(phone, '#user-grid input[aria-label="billing admin"]'), 'every right of the grid is in reach');
  t.ok(await phone.locator('#user-grid').evaluate((wrap) => wrap.scrollWidth <= wrap.clientWidth), 'the grid needs no sideways scroll');
  await phone.screenshot({ path: join(shots, 'user-grid-phone.png') });
  await phone.click('#user-cancel');
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
  await other.locator('#generate-dialog').waitFor({ state: 'visible' });
  // Only what the server accepts is offered: no "never", no 90 days under a 30-day cap.
  const disabled = await other.$$eval('#gen-expiry option', (options) =>
    options.filter((o) => (o as HTMLOptionElement).disabled).map((o) => (o as HTMLOptionElement).value),
  );
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
