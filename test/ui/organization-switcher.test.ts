import type { Page } from 'playwright-core';
import t from 'tap';
import { call } from '../helpers/admin-client.js';
import { launchChromium } from '../helpers/browser.js';
import { startHarness } from '../helpers/harness.js';

// The organization switcher on the admin page (docs/organizations.md), in Chromium at a laptop's
// and an upright phone's size: a `*` admin switches between every organization and all of them;
// an organization's admin lands in its own and sees only it.

const h = await startHarness();
t.teardown(() => h.close());
const ok = async (method: string, path: string, body?: unknown) => {
  const reply = await call(h, method, path, h.adminSecret, body);
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
};
await ok('POST', '/v1/organizations', { name: 'acme', displayName: 'Acme Inc' });
await ok('POST', '/v1/organizations', { name: 'globex' });
await ok('POST', '/v1/repositories', { name: 'a1', organization: 'acme' });
await ok('POST', '/v1/repositories', { name: 'g1', organization: 'globex' });
await ok('POST', '/v1/tokens', { kind: 'repository', name: 'acme feed', repository: 'a1', rights: ['query'] });
await ok('POST', '/v1/tokens', { kind: 'repository', name: 'globex feed', repository: 'g1', rights: ['query'] });
const acmeAdmin = (await ok('POST', '/v1/tokens', { kind: 'repository', name: 'acme admin', repository: '@acme', rights: ['admin', 'query'] }))
  .secret as string;

const browser = await launchChromium();
t.teardown(() => browser.close());
const SIZES = { wide: { width: 1440, height: 900 }, phone: { width: 390, height: 844 } };

async function signedIn(viewport: { width: number; height: number }, secret: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(5000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (message) => message.type() === 'error' && !message.text().startsWith('Failed to load resource') && problems.push(message.text()));
  await page.goto(`${h.admin}/ui/`);
  await page.fill('#sign-in-token', secret);
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#tokens tbody tr').first().waitFor();
  return { page, problems };
}

const tokenNames = (page: Page) => page.locator('#tokens tbody td.name .token-name').allTextContents();
const fits = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

for (const [size, viewport] of Object.entries(SIZES)) {
  t.test(`a * admin switches organizations (${size})`, async (t) => {
    const { page, problems } = await signedIn(viewport, h.adminSecret);
    t.teardown(() => page.close());
    await page.locator('#org-switcher-label').waitFor();
    t.same(await page.locator('#org-switcher option').allTextContents(), ['All organizations', 'Acme Inc (acme)', 'Default (default)', 'globex']);
    t.ok((await tokenNames(page)).includes('globex feed'), 'all organizations at first');
    await page.selectOption('#org-switcher', 'acme');
    await page.waitForFunction(() => ![...document.querySelectorAll('#tokens tbody td.name .token-name')].some((node) => node.textContent === 'globex feed'));
    t.same((await tokenNames(page)).sort(), ['acme admin', 'acme feed']);
    await page.click('#nav-repositories');
    await page.locator('#repositories tbody tr[data-repository="a1"]').waitFor();
    t.same(await page.locator('#repositories tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.repository)), ['a1']);
    t.ok(await fits(page), 'nothing sticks out sideways');
    t.same(problems, []);
  });

  t.test(`an organization's admin lands in its own and sees only it (${size})`, async (t) => {
    const { page, problems } = await signedIn(viewport, acmeAdmin);
    t.teardown(() => page.close());
    t.equal(await page.locator('#org-switcher').inputValue(), 'acme');
    t.same(await page.locator('#org-switcher option').allTextContents(), ['Acme Inc (acme)']);
    t.match(await page.locator('#whoami').textContent(), /admin of @acme/);
    t.same((await tokenNames(page)).sort(), ['acme admin', 'acme feed']);
    const feedRow = page.locator('#tokens tbody tr', { has: page.locator('td.name .token-name', { hasText: /^acme feed$/ }) });
    t.equal(await feedRow.getByRole('button', { name: 'Edit' }).count(), 1, 'it may edit the tokens of acme');
    t.equal(await feedRow.getByRole('button', { name: 'Roll' }).count(), 1);
    await page.click('#generate');
    // The dialog fills its repository choices from the API after it opens: wait for them (CI saw
    // the list read before it was filled), then check @acme is among them.
    const acmeChoice = page.locator('#gen-repository option', { hasText: /^@acme/ }).first();
    t.ok(
      await acmeChoice.waitFor({ state: 'attached', timeout: 10_000 }).then(
        () => true,
        () => false,
      ),
      'it may make a token on @acme',
    );
    await page.keyboard.press('Escape');
    t.equal(await page.locator('#nav-teams').isVisible(), true, 'its teams');
    await page.click('#nav-repositories');
    await page.locator('#repositories tbody tr[data-repository="a1"]').waitFor();
    t.equal(await page.locator('#repository-form').isVisible(), true, 'it makes repositories in acme');
    await page.fill('#repository-name', 'a2');
    await page.click('#repository-form button[type=submit]');
    await page.locator('#repositories tbody tr[data-repository="a2"]').waitFor();
    t.equal(await page.locator('#repositories tbody tr[data-repository="a2"] .repository-organization').textContent(), 'acme');
    await call(h, 'DELETE', '/v1/repositories/a2', h.adminSecret);
    t.ok(await fits(page), 'nothing sticks out sideways');
    t.same(problems, []);
  });
}
