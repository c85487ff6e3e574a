// Tollgate admin page: a thin client of the admin API. Everything from the API is rendered
// with textContent, never as HTML, so a token named "<img onerror=…>" shows as text.

const RIGHTS = ['stream', 'query', 'modify', 'delete', 'admin'];
const TOKEN_KEY = 'tollgate.token';
const $ = (id) => document.getElementById(id);

const state = {
  sort: [{ field: 'createdAt', descending: true }],
  cursor: null,
  cursors: [],
  selected: new Set(),
  /** The selected tokens as they were shown, so a confirmation and its result can name them. */
  selectedTokens: new Map(),
  items: [],
  total: 0,
  isStarAdmin: false,
  repositories: [],
  /** GET /v1/whoami: the signed-in token, its role and its effective rights per repository. */
  me: null,
  /** Which listing is the latest: an older answer that arrives late is dropped. */
  loadSeq: 0,
  /** The organization the lists show ('' for every one, `*` admins only) and those the caller administers. */
  org: '',
  orgs: [],
  /** repository -> its organization, for the repositories the caller sees. */
  repoOrgs: new Map(),
};

// ---- the admin API ----------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title;
  }
}

/** A refusal as a person reads it: the problem's title and its detail, which names the field at fault. */
function describe(err) {
  if (!(err instanceof ApiError)) return err.message;
  let text = err.title && err.title !== err.message ? `${err.title} (${err.status}): ${err.message}` : err.message;
  if (/maxTokenLifetime/.test(err.message)) text += '. This server caps how long a token may live; choose an earlier expiry.';
  return text;
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// ---- small DOM helpers ------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** "in 14 days", "3 hours ago": rounded to the nearest unit, as people count (a 2-week token reads "in 14 days", not 13). */
function relative(iso) {
  if (!iso) return '—';
  const delta = Date.parse(iso) - Date.now();
  const size = Math.abs(delta);
  const units = [
    ['year', 31536e6],
    ['month', 2592e6],
    ['day', 864e5],
    ['hour', 36e5],
    ['minute', 6e4],
  ];
  for (const [unit, ms] of units) {
    if (size < ms) continue;
    const count = Math.round(size / ms);
    // 59.6 minutes is "1 hour", 23.7 hours "1 day": a rounded count that fills the next unit moves up.
    if ((unit === 'minute' && count === 60) || (unit === 'hour' && count === 24)) return relativeText(delta, 1, unit === 'minute' ? 'hour' : 'day');
    return delta > 0 ? `in ${count} ${unit}${count > 1 ? 's' : ''}` : `${count} ${unit}${count > 1 ? 's' : ''} ago`;
  }
  return 'just now';
}

const relativeText = (delta, count, unit) => (delta > 0 ? `in ${count} ${unit}${count > 1 ? 's' : ''}` : `${count} ${unit}${count > 1 ? 's' : ''} ago`);

const DATE_FORMAT = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
const TIME_FORMAT = new Intl.DateTimeFormat('en-US', {
  month: 'short',
  day: 'numeric',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
  timeZoneName: 'short',
});

/** "Dec 16, 2026": the date beside a relative time (UTC, the same for every reader). */
const absoluteDate = (iso) => DATE_FORMAT.format(new Date(iso));
/** "Dec 16, 2026, 17:20 UTC": the full time, for details and titles. */
const absoluteTime = (iso) => TIME_FORMAT.format(new Date(iso));
/** "in 14 days · Dec 16, 2026". */
const whenText = (iso) => `${relative(iso)} · ${absoluteDate(iso)}`;

/** An active token expiring within this counts as expiring soon (events.expiringNotice, from /v1/settings). */
const expiringSoon = (token) =>
  token.status === 'active' &&
  token.expiresAt !== null &&
  Date.parse(token.expiresAt) - Date.now() <= (state.settings?.expiringNoticeSeconds ?? 7 * 86400) * 1000;

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function rightsBoxes(container, checked = []) {
  for (const node of [...container.querySelectorAll('label')]) node.remove();
  for (const right of RIGHTS) {
    container.append(el('label', {}, el('input', { type: 'checkbox', value: right, ...(checked.includes(right) ? { checked: '' } : {}) }), ` ${right}`));
  }
}

const checkedRights = (container) => [...container.querySelectorAll('input:checked')].map((box) => box.value);

/** Disables the rights the signed-in token does not hold where the token will live: the API would refuse them. */
function limitRights(container, held) {
  for (const box of container.querySelectorAll('input[type=checkbox]')) {
    box.disabled = !held.includes(box.value);
    if (box.disabled) box.checked = false;
    box.closest('label').title = box.disabled ? 'you do not hold this right there, so you cannot hand it out' : '';
  }
}

/** A table cell that names its column, so a narrow screen can show it as "label: value". */
const cell = (label, props = {}, ...children) => el('td', { 'data-label': label, ...props }, ...children);

// ---- who is signed in, and what they may do (GET /v1/whoami; the API still judges every call)

const hasOwn = (object, key) => Object.hasOwn(object, key);

/** The rights the signed-in token holds on `repository` (a grant on `*` counts everywhere). */
function rightsOn(repository) {
  const effective = state.me.effectiveRights;
  // A repository's organization counts too: rights on `@acme` hold on every repository of acme.
  const org = state.repoOrgs.get(repository);
  const viaOrg = org !== undefined && hasOwn(effective, `@${org}`) ? effective[`@${org}`] : [];
  const held = new Set([...(hasOwn(effective, repository) ? effective[repository] : []), ...viaOrg, ...(hasOwn(effective, '*') ? effective['*'] : [])]);
  return RIGHTS.filter((right) => held.has(right));
}

function administers(repository) {
  if (state.me.role === 'star') return true;
  return state.me.role === 'scoped' && repository !== '*' && rightsOn(repository).includes('admin');
}

/**
 * Whether the signed-in token may take `action` (edit, roll, revoke, restore, delete) on `token`:
 * the API lists them in the token's `actions`, from the rules it enforces. The page does not
 * judge them itself.
 */
const may = (token, action) => (token.actions ?? []).includes(action);

/** A token as a person names it: its name, and its user for a personal token. */
const tokenLabel = (token) => (token.user ? `${token.name} (${token.user})` : token.name);

/** Names of tokens that appear as actors (`token:<id>`), read once each; null when deleted or out of reach. */
const tokenNames = new Map();

function nameOfToken(id) {
  if (!tokenNames.has(id))
    tokenNames.set(
      id,
      api('GET', `/v1/tokens/${id}`).then(tokenLabel, () => null),
    );
  return tokenNames.get(id);
}

/**
 * An actor (createdBy, a history entry's actor) as a name: a repository token acts as
 * `token:<id>`, shown as that token's name once read; one deleted or out of reach keeps a short id.
 * A personal token acts as its user, already a name.
 */
function actorNode(actor) {
  const node = el('span', { class: 'actor', text: actor });
  const match = /^token:(.+)$/.exec(actor);
  if (match) {
    node.textContent = `token ${match[1].slice(0, 8)}…`;
    node.title = actor;
    nameOfToken(match[1]).then((name) => {
      if (name) node.textContent = name;
      else node.title = `${actor} (deleted or not visible to you)`;
    });
  }
  return node;
}

const UNIT_SECONDS = { h: 3600, d: 86400 };

/**
 * Offers only the expiries the server accepts: with admin.maxTokenLifetime set, "never" and
 * presets beyond the cap are disabled (a date beyond it still gets the API's 400, shown as such).
 */
function applyLifetimeCap(settings) {
  const cap = settings.maxTokenLifetimeSeconds;
  for (const select of [$('gen-expiry'), $('edit-expiry')]) {
    for (const option of select.options) {
      const preset = /^(\d+)([hd])$/.exec(option.value);
      const beyond = cap !== null && (option.value === 'none' || (preset !== null && Number(preset[1]) * UNIT_SECONDS[preset[2]] > cap));
      option.disabled = beyond;
      option.title = beyond ? `beyond this server's longest token lifetime (${Math.round(cap / 86400)} days)` : '';
    }
    if (select.selectedOptions[0]?.disabled) {
      const allowed = [...select.options].filter((option) => !option.disabled && /^\d/.test(option.value));
      if (allowed.length > 0) select.value = allowed[allowed.length - 1].value;
    }
  }
}

/** The expiry fields of a create or edit body from a select + date input. */
function expiryBody(select, date) {
  const value = select.value;
  if (value === 'keep') return {};
  if (value === 'none') return { expiresAt: null };
  if (value === 'custom') return date.value ? { expiresAt: new Date(`${date.value}T23:59:59Z`).toISOString() } : {};
  return { expiresIn: value };
}

// ---- sign-in ----------------------------------------------------------------------------

async function signIn(secret) {
  sessionStorage.setItem(TOKEN_KEY, secret);
  try {
    const me = await api('GET', '/v1/whoami');
    if (me.role === 'none')
      throw new Error('This repository token has no admin right, so it cannot use the admin page. Sign in with an admin token or a personal token.');
    state.me = me;
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
  state.isStarAdmin = state.me.role === 'star';
  tokenNames.set(state.me.token.id, Promise.resolve(tokenLabel(state.me.token)));
  // The lifetime cap, the expiry notice and the event types (one list, the one webhooks send).
  state.settings = await api('GET', '/v1/settings').catch(() => ({ maxTokenLifetimeSeconds: null, eventTypes: [] }));
  applyLifetimeCap(state.settings);
  await loadOrganizations();
  showApp();
}

// ---- organizations: the switcher (docs/organizations.md) -------------------------------

/** Admins get the organizations they administer; an organization's admin lands in its own. */
async function loadOrganizations() {
  if (!['star', 'scoped'].includes(state.me.role)) return;
  const { items } = await api('GET', '/v1/organizations').catch(() => ({ items: [] }));
  state.orgs = items;
  if (!state.isStarAdmin && items.length > 0) state.org = items[0].name;
  const repos = await api('GET', '/v1/repositories').catch(() => ({ items: [] }));
  state.repoOrgs = new Map(repos.items.map((repo) => [repo.name, repo.organization]));
  if (state.repositories.length === 0) state.repositories = repos.items.map((repo) => repo.name);
  const switcher = $('org-switcher');
  switcher.replaceChildren(
    ...(state.isStarAdmin ? [el('option', { value: '', text: 'All organizations' })] : []),
    ...items.map((org) => el('option', { value: org.name, text: org.displayName === org.name ? org.name : `${org.displayName} (${org.name})` })),
  );
  switcher.value = state.org;
  // A repository admin of no organization has nothing to switch between.
  $('org-switcher-label').hidden = items.length === 0 || (!state.isStarAdmin && items.length < 2 && !isOrgAdmin());
  switcher.onchange = () => {
    state.org = switcher.value;
    state.cursor = null;
    state.cursors = [];
    show(currentView());
  };
}

/** True when the caller administers an organization (not only repositories). */
const isOrgAdmin = () => !state.isStarAdmin && state.orgs.length > 0;

/** `organization=` for a list under the switcher, as a query suffix ('' for all). */
const orgSuffix = (joiner = '?') => (state.org ? `${joiner}organization=${encodeURIComponent(state.org)}` : '');

function currentView() {
  return ['tokens', 'users', 'teams', 'repositories', 'events'].find((name) => !$(`${name}-view`).hidden) ?? 'tokens';
}

/** What the signed-in token is, in words: "admin of all repositories", "personal token of alice". */
function describeMe() {
  const { token, role, effectiveRights } = state.me;
  const kind = token.kind === 'personal' ? `personal token of ${token.user}` : 'repository token';
  if (role === 'star') return `${kind}, admin of all repositories`;
  if (role === 'scoped' && isOrgAdmin()) return `${kind}, admin of ${state.orgs.map((org) => `@${org.name}`).join(', ')}`;
  if (role === 'scoped') {
    const repositories = Object.keys(effectiveRights).filter((repository) => repository !== '*' && effectiveRights[repository].includes('admin'));
    return `${kind}, admin of ${repositories.join(', ') || 'no repository now'}`;
  }
  return `${kind}, without admin: its own user's personal tokens`;
}

function showApp() {
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('nav-repositories').hidden = !['star', 'scoped'].includes(state.me.role);
  $('nav-users').hidden = !state.isStarAdmin && !isOrgAdmin();
  $('nav-teams').hidden = !state.isStarAdmin && !isOrgAdmin(); // teams are for * admins and organization admins
  $('nav-events').hidden = !['star', 'scoped'].includes(state.me.role);
  $('events-type').replaceChildren(
    el('option', { value: '', text: 'Any type' }),
    ...(state.settings.eventTypes ?? []).map((type) => el('option', { value: type, text: type })),
  );
  $('whoami').textContent = `signed in as ${state.me.token.name} (${describeMe()})`;
  $('bulk-delete').hidden = !['star', 'scoped'].includes(state.me.role);
  show('tokens');
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

function show(view) {
  for (const name of ['tokens', 'users', 'teams', 'repositories', 'events']) {
    $(`${name}-view`).hidden = view !== name;
    $(`nav-${name}`).classList.toggle('current', view === name);
  }
  if (view === 'tokens') loadTokens();
  else if (view === 'teams') loadTeams();
  else if (view === 'repositories') loadRepositories();
  else if (view === 'events') loadEvents(50);
  else loadUsers();
}

// ---- events: the audit log (GET /v1/events) ---------------------------------------------

/** Loads the newest `limit` events under the filters; "Show more" asks for 50 more (at most 500). */
async function loadEvents(limit) {
  const params = new URLSearchParams({ limit: String(limit) });
  if ($('events-type').value) params.set('type', $('events-type').value);
  const token = $('events-token').value.trim();
  if (/^[0-9a-f]{16}$/.test(token)) params.set('token', token);
  if (state.org) params.set('organization', state.org);
  try {
    const { items } = await api('GET', `/v1/events?${params}`);
    $('events-error').textContent = '';
    $('events').tBodies[0].replaceChildren(
      ...items.map((event) => {
        const data = event.data ?? {};
        const subject = event.type.startsWith('token.') && data.id ? tokenLink(data.id) : el('span', { text: data.name ?? data.id ?? '—' });
        const deliveries =
          event.deliveries.length === 0
            ? 'kept (no webhook wants it)'
            : event.deliveries.map((d) => `${d.state}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}`).join(', ');
        return el(
          'tr',
          { dataset: { type: event.type } },
          cell('When', { title: absoluteTime(event.timestamp), text: whenText(event.timestamp) }),
          cell('Type', { text: event.type }),
          cell('Subject', {}, subject),
          cell('Deliveries', { text: deliveries }),
        );
      }),
    );
    $('events-info').textContent = items.length === 0 ? 'No events under these filters' : `${items.length} newest`;
    $('events-more').hidden = items.length < limit || limit >= 500;
    $('events-more').onclick = () => loadEvents(Math.min(limit + 50, 500));
  } catch (err) {
    $('events-error').textContent = describe(err);
  }
}

// ---- the token table --------------------------------------------------------------------

function query() {
  const params = new URLSearchParams({ limit: '50' });
  const q = $('search').value.trim();
  if (q) params.set('q', q);
  if ($('filter-status').value) params.set('status', $('filter-status').value);
  if ($('filter-kind').value) params.set('kind', $('filter-kind').value);
  if ($('filter-expiring').value) params.set('expiresWithin', $('filter-expiring').value);
  params.set('sort', state.sort.map((key) => (key.descending ? '-' : '') + key.field).join(','));
  if (state.cursor) params.set('cursor', state.cursor);
  if (state.org) params.set('organization', state.org);
  return params;
}

async function loadTokens() {
  const seq = ++state.loadSeq;
  try {
    const page = await api('GET', `/v1/tokens?${query()}`);
    if (seq !== state.loadSeq) return; // a later search or filter answered (or will answer) for the table
    state.items = page.items;
    state.next = page.nextCursor;
    state.total = page.total;
    for (const token of page.items) tokenNames.set(token.id, Promise.resolve(tokenLabel(token)));
    renderTokens(page);
    await renderTotal(page, seq);
  } catch (err) {
    $('bulk-result').hidden = false;
    $('bulk-result').textContent = err.message;
  }
}

const filtered = () => Boolean($('search').value.trim() || $('filter-status').value || $('filter-kind').value || $('filter-expiring').value);

/** "12 tokens", or with a search or filter "2 of 57 tokens match" and a "Show all" link. */
async function renderTotal(page, seq) {
  const plural = (n) => `${n} token${n === 1 ? '' : 's'}`;
  if (!filtered()) {
    $('total').textContent = `${plural(page.total)} in all`;
    $('show-all').hidden = true;
    return;
  }
  const all = await api('GET', '/v1/tokens?limit=1').then(
    (everything) => everything.total,
    () => null,
  );
  if (seq !== state.loadSeq) return;
  $('total').textContent = all === null ? `${plural(page.total)} match` : `${page.total} of ${plural(all)} match`;
  $('show-all').hidden = false;
}

function showAll() {
  $('search').value = '';
  for (const id of ['filter-status', 'filter-kind', 'filter-expiring']) $(id).value = '';
  resetPaging();
  loadTokens();
}

function renderTokens(page) {
  const body = $('tokens').tBodies[0];
  body.replaceChildren(
    ...page.items.map((token) => {
      const box = el('input', { type: 'checkbox', 'aria-label': `Select ${token.name}` });
      box.checked = state.selected.has(token.id);
      box.addEventListener('change', () => {
        if (box.checked) {
          state.selected.add(token.id);
          state.selectedTokens.set(token.id, token);
        } else {
          state.selected.delete(token.id);
          state.selectedTokens.delete(token.id);
        }
        countSelection();
      });
      // Only what the signed-in token may do to this token is offered: its `actions`, from the API.
      const actions = el('div', { class: 'actions-inline' });
      actions.append(el('button', { type: 'button', text: 'Details', title: 'Details and history', onclick: () => openHistory(token) }));
      if (may(token, 'edit')) actions.append(el('button', { type: 'button', text: 'Edit', onclick: () => openEdit(token) }));
      // What a row offers follows its state, with at most one destructive button: a working token
      // (active, or rolled and in its overlap) may be revoked; an ended one deleted, or brought back
      // (a revoked one restored, an expired one given a new expiry through Edit).
      if (may(token, 'restore')) actions.append(el('button', { type: 'button', text: 'Restore', onclick: () => act('restore', token) }));
      if (token.status === 'expired' && may(token, 'edit'))
        actions.append(el('button', { type: 'button', text: 'Restore…', title: 'Give it a new expiry', onclick: () => openEdit(token) }));
      if (may(token, 'roll'))
        actions.append(el('button', { type: 'button', text: 'Roll', title: 'Make a new secret for this token', onclick: () => openRoll(token) }));
      if ((token.status === 'active' || token.status === 'rolled') && may(token, 'revoke'))
        actions.append(el('button', { type: 'button', class: 'danger', text: 'Revoke', onclick: () => revoke(token) }));
      else if (token.status !== 'active' && token.status !== 'rolled' && may(token, 'delete'))
        actions.append(el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: () => remove(token) }));
      return el(
        'tr',
        { dataset: { id: token.id } },
        el('td', { class: 'select' }, box),
        el(
          'td',
          { class: 'name' },
          el('span', { class: 'token-name', text: token.name }),
          el('span', { class: 'sub', text: `${token.kind}${token.lent ? ' · lent' : ''} · ${token.prefix}…` }),
        ),
        cell('Repository', { class: 'repository', text: token.repository }),
        cell('User', { text: token.user ?? '—' }),
        cell('Rights', { class: 'rights', text: token.rights.join(', ') }),
        cell(
          'Status',
          {},
          el('span', {
            class: `badge ${token.status}`,
            text: token.status,
            title: token.status === 'rolled' ? `rolled into token ${token.rolledTo}; works until ${absoluteTime(token.expiresAt)}` : '',
          }),
        ),
        cell('Expires', {
          class: `expires${expiringSoon(token) ? ' soon' : ''}`,
          title: token.expiresAt ? absoluteTime(token.expiresAt) : '',
          text: token.expiresAt ? whenText(token.expiresAt) : 'never',
        }),
        cell('Last used', { class: 'last-used', title: lastUseTitle(token), text: token.lastUsedAt ? relative(token.lastUsedAt) : 'never used' }),
        el('td', { class: 'row-actions' }, actions),
      );
    }),
  );
  const shown = state.cursors.length * 50;
  $('page-info').textContent = page.total === 0 ? 'No tokens' : `${shown + 1}–${shown + page.items.length} of ${page.total}`;
  $('next-page').disabled = !page.nextCursor;
  $('first-page').disabled = state.cursors.length === 0;
  countSelection();
  $('select-all').hidden = $('bulk-delete').hidden;
  for (const box of body.querySelectorAll('td.select input')) box.hidden = $('bulk-delete').hidden;
  renderSortHeaders();
}

function lastUseTitle(token) {
  if (!token.lastUsedAt) return 'never used';
  return [token.lastUsedAt, token.lastUsedIp && `from ${token.lastUsedIp}`, token.lastUsedUserAgent && `by ${token.lastUsedUserAgent}`]
    .filter(Boolean)
    .join(' ');
}

function renderSortHeaders() {
  for (const th of document.querySelectorAll('th[data-sort]')) {
    const index = state.sort.findIndex((key) => key.field === th.dataset.sort);
    th.dataset.label ??= th.textContent;
    th.textContent = th.dataset.label;
    th.setAttribute('aria-sort', index === 0 ? (state.sort[0].descending ? 'descending' : 'ascending') : 'none');
    if (index !== -1) {
      const key = state.sort[index];
      th.append(el('span', { class: 'sort-mark', text: ` ${key.descending ? '▼' : '▲'}${state.sort.length > 1 ? index + 1 : ''}` }));
    }
  }
}

function onSortClick(event) {
  const th = event.target.closest('th[data-sort]');
  if (!th) return;
  const field = th.dataset.sort;
  const existing = state.sort.find((key) => key.field === field);
  if (event.shiftKey) {
    // Shift-click: add as the next key, or flip its direction if it is already a key.
    if (existing) existing.descending = !existing.descending;
    else state.sort.push({ field, descending: false });
  } else {
    state.sort = [{ field, descending: existing && state.sort.length === 1 ? !existing.descending : false }];
  }
  resetPaging();
  loadTokens();
}

/** On a phone the headers are hidden: a select sorts by one key instead. */
function onSortSelect() {
  const value = $('sort-select').value;
  state.sort = [{ field: value.replace(/^-/, ''), descending: value.startsWith('-') }];
  resetPaging();
  loadTokens();
}

function resetPaging() {
  state.cursor = null;
  state.cursors = [];
  clearSelection();
}

function showNotice(text) {
  $('bulk-result').hidden = false;
  $('bulk-result').textContent = text;
}

async function act(action, token) {
  await run(() => api('POST', `/v1/tokens/${token.id}/${action}`));
}

/**
 * Asks in the page's own dialog (never the browser's confirm()): `title` names the action and how
 * many, `text` what happens, `warning` a danger to the signed-in session. Resolves true on the
 * confirm button.
 */
function ask({ title, text, warning = '', items = [], button }) {
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-warning').textContent = warning;
  $('confirm-warning').hidden = warning === '';
  $('confirm-list').replaceChildren(...items.map((item) => el('li', { text: item })));
  $('confirm-list').hidden = items.length === 0;
  $('confirm-submit').textContent = button;
  $('confirm-dialog').returnValue = '';
  $('confirm-dialog').showModal();
  return new Promise((resolve) => {
    $('confirm-dialog').addEventListener('close', () => resolve($('confirm-dialog').returnValue === 'confirm'), { once: true });
  });
}

/** How a token is named in a confirmation: its name and where it lives (names repeat across repositories). */
const confirmLabel = (token) => `"${token.name}" (${token.repository}${token.user ? `, user ${token.user}` : ''}, ${token.prefix}…)`;

async function revoke(token) {
  const isSelf = token.id === state.me.token.id;
  const confirmed = await ask({
    title: `Revoke token ${token.name}?`,
    text: `Token ${confirmLabel(token)} stops working at once, and so do the tokens it lent. It can be restored later.`,
    warning: isSelf
      ? 'This is the token you are signed in with: this page stops working as soon as it is revoked, and you will need another admin token to restore it.'
      : '',
    button: isSelf ? 'Revoke and sign out' : 'Revoke 1 token',
  });
  if (!confirmed) return;
  await act('revoke', token);
}

async function remove(token) {
  const confirmed = await ask({
    title: `Delete token ${token.name}?`,
    text: `Token ${confirmLabel(token)} is deleted for good: it cannot be restored, and its name is free again. Its history is kept.`,
    button: 'Delete 1 token',
  });
  if (!confirmed) return;
  await run(() => api('DELETE', `/v1/tokens/${token.id}`));
}

/** The bulk button names how many are selected; the selection is what it acts on. */
function countSelection() {
  const count = state.selected.size;
  $('bulk-delete').disabled = count === 0;
  $('bulk-delete').textContent = count === 0 ? 'Delete selected' : `Delete ${count} selected`;
}

/** A filter, search or page change hides rows: the selection goes with them rather than act unseen. */
function clearSelection() {
  state.selected.clear();
  state.selectedTokens.clear();
  countSelection();
}

const REASONS = { active: 'it is active: revoke it first', not_found: 'it was already gone', forbidden: 'this token may not delete it' };

async function bulkDelete() {
  const ids = [...state.selected];
  if (ids.length === 0) return;
  const tokens = ids.map((id) => state.selectedTokens.get(id) ?? { id, name: id, repository: '?', prefix: id.slice(0, 8) });
  const working = tokens.filter((token) => token.status === 'active' || token.status === 'rolled').length;
  const confirmed = await ask({
    title: `Delete ${ids.length} token${ids.length === 1 ? '' : 's'}?`,
    text: `These are deleted for good and cannot be restored; their history is kept.${working ? ` ${working} of them still work${working === 1 ? 's' : ''} and will be left as ${working === 1 ? 'it is' : 'they are'} (revoke first).` : ''}`,
    items: tokens.map(confirmLabel),
    button: `Delete ${ids.length} token${ids.length === 1 ? '' : 's'}`,
  });
  if (!confirmed) return;
  try {
    const result = await api('POST', '/v1/tokens/delete', { ids });
    const named = (id) => {
      const token = state.selectedTokens.get(id);
      return token ? confirmLabel(token) : id;
    };
    const failures = result.failed.map((f) => `${named(f.id)}: ${REASONS[f.reason] ?? f.reason}`);
    clearSelection();
    showNotice(`Deleted ${result.deleted.length} of ${ids.length}.${failures.length ? ` Not deleted: ${failures.join('; ')}.` : ''}`);
  } catch (err) {
    showNotice(err.message);
  }
  loadTokens();
}

async function run(step) {
  try {
    await step();
  } catch (err) {
    showNotice(describe(err));
  }
  loadTokens();
}

// ---- generate -----------------------------------------------------------------------------

/** The kinds the signed-in token may create: a repository token needs admin; a personal token is for one's own user unless a `*` admin. */
function offeredKinds() {
  const { role, token } = state.me;
  if (role === 'star') return ['repository', 'personal'];
  if (role === 'scoped') return token.kind === 'personal' ? ['repository', 'personal'] : ['repository'];
  return ['personal'];
}

const generateKind = () => new FormData($('generate-form')).get('kind');

async function openGenerate() {
  $('generate-form').reset();
  $('generate-form').hidden = false;
  $('generate-result').hidden = true;
  $('gen-error').textContent = '';
  $('gen-date-label').hidden = true;
  rightsBoxes($('gen-rights'), ['query']);
  // Self-service and a lent token always lend; an admin chooses (the API decides either way).
  const alwaysLent = state.me.role === 'personal' || state.me.token.lent;
  $('gen-lend').checked = alwaysLent;
  $('gen-lend').disabled = alwaysLent;
  const repos = ['star', 'scoped'].includes(state.me.role) ? await api('GET', '/v1/repositories').catch(() => ({ items: [] })) : { items: [] };
  state.repositories = repos.items.map((r) => r.name);
  const kinds = offeredKinds();
  for (const radio of document.querySelectorAll('input[name="kind"]')) {
    radio.closest('label').hidden = !kinds.includes(radio.value);
    radio.checked = radio.value === kinds[0];
  }
  // Not a `*` admin: a personal token is for the signed-in token's own user only.
  const ownUser = state.isStarAdmin ? null : state.me.token.user;
  $('gen-user').value = ownUser ?? '';
  $('gen-user').readOnly = ownUser !== null;
  kindChanged();
  $('generate-dialog').showModal();
}

function kindChanged() {
  $('gen-user-label').hidden = generateKind() !== 'personal';
  $('gen-user').required = generateKind() === 'personal';
  repositoryOptions();
}

/**
 * The repositories the signed-in token may make a token on. Nothing is preselected but a lone
 * choice: `*` (all repositories) is a deliberate pick, never a default.
 */
function repositoryOptions() {
  const personal = generateKind() === 'personal';
  const previous = $('gen-repository').value;
  const { token, effectiveRights } = state.me;
  let options;
  if (personal) {
    if (!state.isStarAdmin && token.kind === 'personal' && token.repository !== '*') options = [[token.repository, token.repository]];
    else {
      const names = state.isStarAdmin ? state.repositories : Object.keys(effectiveRights).filter((name) => name !== '*');
      options = [['*', "* — all of the user's repositories, within the user's grants"], ...names.map((name) => [name, name])];
    }
  } else {
    options = [
      ...(state.isStarAdmin ? [['*', '* — all repositories, now and later']] : []),
      ...state.orgs
        .filter((org) => administers(`@${org.name}`))
        .map((org) => [`@${org.name}`, `@${org.name} — every repository of ${org.name}, now and later`]),
      ...state.repositories.filter((name) => administers(name)).map((name) => [name, name]),
    ];
  }
  const placeholder = options.length === 1 && options[0][0] !== '*' ? [] : [['', 'choose a repository…']];
  $('gen-repository').replaceChildren(...[...placeholder, ...options].map(([value, text]) => el('option', { value, text })));
  if (previous !== '*' && options.some(([value]) => value === previous)) $('gen-repository').value = previous;
  $('gen-repository-hint').textContent = personal
    ? "A personal token acts as its user: it holds at most the user's grants there (or on all the user's repositories with *)."
    : 'A repository token works on this repository only (* : on every repository).';
  repositoryChanged();
}

/** Offers the rights the signed-in token holds where the new token will live. */
function repositoryChanged() {
  const repository = $('gen-repository').value;
  if (state.isStarAdmin || repository === '') return limitRights($('gen-rights'), state.isStarAdmin ? RIGHTS : rightsOnAny());
  limitRights($('gen-rights'), repository === '*' ? rightsOnAny() : rightsOn(repository));
}

const rightsOnAny = () => RIGHTS.filter((right) => Object.values(state.me.effectiveRights).some((rights) => rights.includes(right)));

/** `owner: team-a, pipeline: nightly` (or `owner=team-a`) as labels, or what is wrong with it. */
function parseLabels(text) {
  const labels = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = part.search(/[:=]/);
    if (at <= 0) return `labels: expected key: value, got "${part}"`;
    labels[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return labels;
}

async function submitGenerate(event) {
  event.preventDefault();
  const kind = generateKind();
  const body = {
    kind,
    name: $('gen-name').value,
    rights: checkedRights($('gen-rights')),
    ...(kind === 'personal' ? { user: $('gen-user').value } : {}),
  };
  // A personal token's `*` is the API's default when the repository is left out.
  if (!(kind === 'personal' && $('gen-repository').value === '*')) body.repository = $('gen-repository').value;
  const expiry = expiryBody($('gen-expiry'), $('gen-date'));
  if ('expiresAt' in expiry && expiry.expiresAt === null) delete expiry.expiresAt;
  Object.assign(body, expiry);
  if ($('gen-lend').checked) body.lend = true;
  if ($('gen-self-rotate').checked) body.selfRotate = true;
  const labels = parseLabels($('gen-labels').value);
  if (typeof labels === 'string') {
    $('gen-error').textContent = labels;
    return;
  }
  if (Object.keys(labels).length > 0) body.labels = labels;
  const allowFrom = $('gen-allow-from')
    .value.split(/[\s,]+/)
    .filter(Boolean);
  if (allowFrom.length > 0) body.allowFrom = allowFrom;
  try {
    showSecret(await api('POST', '/v1/tokens', body), 'Token created');
    loadTokens();
  } catch (err) {
    $('gen-error').textContent = describe(err);
  }
}

/** The secret of a created or rolled token, shown once in the generate dialog. */
function showSecret(created, title) {
  $('generate-form').hidden = true;
  $('generate-result').hidden = false;
  $('generate-result-title').textContent = title;
  $('copy-secret').textContent = 'Copy';
  $('secret').value = created.secret;
  renderSummary(created.token);
  $('qr-figure').hidden = !created.qr;
  if (created.qr) $('qr').src = created.qr;
  if (!$('generate-dialog').open) $('generate-dialog').showModal();
}

/** What was created, beside its secret: the person copying it sees what it opens. */
function renderSummary(token) {
  const rows = [];
  const add = (term, value) => rows.push(el('dt', { text: term }), el('dd', { text: value }));
  add('Name', token.name);
  add('Kind', token.kind === 'personal' ? `personal token of ${token.user}` : 'repository token');
  add('Repository', token.repository === '*' ? (token.kind === 'personal' ? "* (all the user's repositories)" : '* (all repositories)') : token.repository);
  add('Rights', token.rights.join(', ') || 'none');
  add('Expires', token.expiresAt ? whenText(token.expiresAt) : 'never');
  add('Prefix', `${token.prefix}…`);
  $('created-summary').replaceChildren(...rows);
}

// ---- roll ---------------------------------------------------------------------------------

/** Says what the chosen overlap does to the old secret, and the button says it too. */
function rollHint() {
  const now = $('roll-overlap').value === '0s';
  $('roll-overlap-hint').textContent = now
    ? 'The old secret is revoked at once: every client still using it fails from now on.'
    : `The old secret keeps working ${$('roll-overlap').selectedOptions[0].textContent}, shown as rolled; then it stops.`;
  $('roll-submit').textContent = now ? 'Roll and revoke the old secret now' : 'Roll';
  $('roll-submit').className = now ? 'danger' : 'primary';
}

let rolling = null;

function openRoll(token) {
  rolling = token;
  $('roll-form').reset();
  $('roll-error').textContent = '';
  $('roll-title').textContent = token.name;
  rollHint();
  $('roll-dialog').showModal();
}

async function submitRoll(event) {
  event.preventDefault();
  try {
    const created = await api('POST', `/v1/tokens/${rolling.id}/roll`, { overlap: $('roll-overlap').value });
    $('roll-dialog').close();
    showSecret(created, 'Token rolled');
    loadTokens();
  } catch (err) {
    $('roll-error').textContent = describe(err);
  }
}

function closeGenerate() {
  $('secret').value = ''; // the secret leaves the page with the dialog
  $('qr').removeAttribute('src');
  $('generate-dialog').close();
}

// ---- edit ---------------------------------------------------------------------------------

let editing = null;

function openEdit(token) {
  editing = token;
  $('edit-form').reset();
  $('edit-error').textContent = '';
  $('edit-title').textContent = token.name;
  $('edit-name').value = token.name;
  $('edit-date-label').hidden = true;
  rightsBoxes($('edit-rights'), token.rights);
  const limits = token.limits ?? {};
  $('edit-rate').value = limits.rate ? `${limits.rate.requests}/${limits.rate.per}` : '';
  $('edit-quota').value = limits.quota ? `${bytesText(limits.quota.bytes)}/${limits.quota.per}` : '';
  $('edit-streams').value = limits.streams === undefined ? '' : String(limits.streams);
  $('edit-labels').value = Object.entries(token.labels ?? {})
    .map(([key, value]) => `${key}: ${value}`)
    .join(', ');
  $('edit-allow-from').value = (token.allowFrom ?? []).join(', ');
  $('edit-self-rotate').checked = token.selfRotate === true;
  $('edit-dialog').showModal();
}

// ---- limits -------------------------------------------------------------------------------

const SIZE_UNITS = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** `10GiB` -> bytes; NaN when it is not a size (the server names the field if it is wrong anyway). */
function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = match && SIZE_UNITS[match[2].toUpperCase()];
  return unit ? Math.floor(Number(match[1]) * unit) : NaN;
}

/** Bytes in the largest binary unit that divides them exactly. */
function bytesText(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (unit < units.length - 1 && bytes >= 1024 && bytes % 1024 === 0) {
    bytes /= 1024;
    unit++;
  }
  return `${bytes}${units[unit]}`;
}

/** The limits the edit form holds: null when every field is empty; throws naming a field it cannot read. */
function limitsFromForm() {
  const limits = {};
  const rate = $('edit-rate').value.trim();
  if (rate) {
    const [requests, per] = rate.split('/');
    if (!per || !/^\d+$/.test(requests)) throw new Error('Rate: expected REQUESTS/PER such as 50/1s');
    limits.rate = { requests: Number(requests), per: per.trim() };
  }
  const quota = $('edit-quota').value.trim();
  if (quota) {
    const [size, per] = quota.split('/');
    const bytes = parseSize(size);
    if (!per || !Number.isFinite(bytes)) throw new Error('Quota: expected BYTES/PER such as 10GiB/1d');
    limits.quota = { bytes, per: per.trim() };
  }
  const streams = $('edit-streams').value.trim();
  if (streams) limits.streams = Number(streams);
  return Object.keys(limits).length === 0 ? null : limits;
}

/** `50/1s, 10GiB/1d, 2 streams`. */
function limitsText(limits) {
  if (!limits) return 'none';
  const parts = [];
  if (limits.rate) parts.push(`${limits.rate.requests} requests per ${limits.rate.per}`);
  if (limits.quota) parts.push(`${bytesText(limits.quota.bytes)} per ${limits.quota.per}`);
  if (limits.streams !== undefined) parts.push(`${limits.streams} open streams`);
  return parts.join(', ');
}

async function submitEdit(event) {
  event.preventDefault();
  const body = { ...expiryBody($('edit-expiry'), $('edit-date')) };
  if ($('edit-name').value !== editing.name) body.name = $('edit-name').value;
  const rights = checkedRights($('edit-rights'));
  if (rights.join() !== editing.rights.join()) body.rights = rights;
  const labels = parseLabels($('edit-labels').value);
  if (typeof labels === 'string') {
    $('edit-error').textContent = labels;
    return;
  }
  if (JSON.stringify(labels) !== JSON.stringify(editing.labels ?? {})) body.labels = labels;
  const allowFrom = $('edit-allow-from')
    .value.split(/[\s,]+/)
    .filter(Boolean);
  if (allowFrom.join() !== (editing.allowFrom ?? []).join()) body.allowFrom = allowFrom;
  if ($('edit-self-rotate').checked !== (editing.selfRotate === true)) body.selfRotate = $('edit-self-rotate').checked;
  try {
    const limits = limitsFromForm();
    if (JSON.stringify(limits) !== JSON.stringify(editing.limits ?? null)) body.limits = limits;
    if (Object.keys(body).length > 0) await api('PATCH', `/v1/tokens/${editing.id}`, body);
    $('edit-dialog').close();
    loadTokens();
  } catch (err) {
    $('edit-error').textContent = describe(err);
  }
}

// ---- details and history -----------------------------------------------------------------

/** Token ids in history (rolledTo, rolledFrom, parentId) become buttons that open that token. */
const LINKED_FIELDS = { rolledTo: 'rolled to token', rolledFrom: 'rolled from token', parentId: 'lent by token' };
const ACTION_NOTES = {
  rolled: 'a new secret was made; see the linked token',
  leaked: 'its secret was reported as leaked, so it was revoked',
};

function tokenLink(id) {
  const button = el('button', { type: 'button', class: 'link-inline', text: id, onclick: () => openTokenById(id) });
  // Name the token when it still exists; a deleted one keeps its id.
  api('GET', `/v1/tokens/${id}`).then(
    (token) => {
      button.textContent = `${token.name} (${token.prefix}…, ${token.status})`;
      button.title = `token ${id}`;
    },
    () => (button.title = 'deleted or not visible to you'),
  );
  return button;
}

async function openTokenById(id) {
  try {
    openHistory(await api('GET', `/v1/tokens/${id}`));
  } catch {
    openHistory({ id, name: id, deleted: true });
  }
}

function renderDetails(token) {
  const rows = [];
  const add = (term, ...value) => rows.push(el('dt', { text: term }), el('dd', {}, ...value));
  add('Id', el('code', { text: token.id }));
  if (!token.deleted) {
    add('Status', el('span', { class: `badge ${token.status}`, text: token.status }));
    if (token.status === 'rolled')
      add(
        'Rolled into',
        'token ',
        tokenLink(token.rolledTo),
        el('div', { class: 'note', text: `this secret keeps working until ${absoluteTime(token.expiresAt)} (${relative(token.expiresAt)}), then stops` }),
      );
    add('Kind', token.kind === 'personal' ? 'personal token' : 'repository token');
    add('Prefix', el('code', { text: `${token.prefix}…` }));
    add('Repository', token.repository === '*' ? (token.kind === 'personal' ? "* (all the user's repositories)" : '* (all repositories)') : token.repository);
    if (token.user) add('User', token.user);
    add('Rights', token.rights.join(', '));
    add('Created', `${absoluteTime(token.createdAt)} (${relative(token.createdAt)}) by `, actorNode(token.createdBy));
    add('Expires', token.expiresAt ? `${absoluteTime(token.expiresAt)} (${relative(token.expiresAt)})` : 'never');
    if (token.revokedAt) add('Revoked', `${absoluteTime(token.revokedAt)} (${relative(token.revokedAt)})`);
    add('Last used', token.lastUsedAt ? `${absoluteTime(token.lastUsedAt)} (${relative(token.lastUsedAt)})` : 'never used');
    add(
      'Labels',
      Object.keys(token.labels ?? {}).length
        ? Object.entries(token.labels)
            .map(([key, value]) => `${key}: ${value}`)
            .join(', ')
        : 'none',
    );
    add('Allowed from', token.allowFrom?.length ? token.allowFrom.join(', ') : 'any address');
    if (token.selfRotate) add('Self-rotation', 'it may roll itself (a new secret, nothing wider)');
    if (token.lastUsedIp) add('Last used from', token.lastUsedIp);
    if (token.lastUsedUserAgent) add('Last User-Agent', token.lastUsedUserAgent);
    // Lent: bound to the token that lent it. Independent: it outlives whoever made it (createdBy).
    if (token.lent)
      add(
        'Lent by',
        'token ',
        tokenLink(token.parentId),
        el('div', { class: 'note', text: 'expires no later than it, ends when it is revoked or deleted, and spends from its limits too' }),
      );
    else add('Lent', 'no: independent, it outlives the token that made it');
    add('Limits', token.limits ? limitsText(token.limits) : "none of its own (its repository's defaults apply, if any)");
  }
  $('token-details').replaceChildren(...rows);
}

function renderChange(field, change) {
  if (hasOwn(LINKED_FIELDS, field) && typeof change.to === 'string')
    return el('li', { class: 'link-change' }, `${LINKED_FIELDS[field]} `, tokenLink(change.to));
  if (hasOwn(LINKED_FIELDS, field) && change.to === null) return null;
  // The API leaves out what did not change; a first value (at creation) reads as just the value.
  if (JSON.stringify(change.from) === JSON.stringify(change.to)) return null;
  return el('li', { text: changeSentence(field, change) });
}

const FIELD_NAMES = {
  expiresAt: 'expiry',
  allowFrom: 'allowed addresses',
  selfRotate: 'may roll itself',
  kind: 'kind',
  lent: 'lent',
  members: 'members',
  grants: 'grants',
};

/** A value as people read it: rights as a list, a time as a date, limits as rates, labels as `key: value`. */
function valueWords(field, value) {
  if (value === null || value === undefined) return field === 'expiresAt' ? 'never' : 'none';
  if (field === 'limits') return limitsText(value) || 'none';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) return absoluteTime(value);
  if (Array.isArray(value)) return value.length ? value.join(', ') : 'none';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length ? entries.map(([key, one]) => `${key}: ${Array.isArray(one) ? one.join(', ') : String(one)}`).join('; ') : 'none';
  }
  return String(value);
}

/** One change as a sentence: "renamed "a" to "b"", "rights: stream, query → query", "expiry: Dec 17, 2026 → never". */
function changeSentence(field, change) {
  const name = FIELD_NAMES[field] ?? field;
  if (field === 'name' && change.from !== null) return `renamed "${change.from}" to "${change.to}"`;
  if (change.from === null) return `${name}: ${valueWords(field, change.to)}`;
  return `${name}: ${valueWords(field, change.from)} → ${valueWords(field, change.to)}`;
}

function renderHistory(items) {
  $('history-list').replaceChildren(
    ...items.map((entry) =>
      el(
        'li',
        {},
        el('strong', { text: entry.action }),
        el('span', { class: 'muted', title: entry.at }, ` ${relative(entry.at)} by `, actorNode(entry.actor)),
        ACTION_NOTES[entry.action] ? el('div', { class: 'note', text: ACTION_NOTES[entry.action] }) : null,
        entry.reason ? el('div', { class: 'note reason', text: `because ${entry.reason}` }) : null,
        el('ul', {}, ...Object.entries(entry.changes).map(([field, change]) => renderChange(field, change))),
      ),
    ),
  );
}

// ---- usage history in the details -------------------------------------------------------

const USAGE_RANGES = { '7d': { back: 7 * 86_400_000, step: '1d' }, '48h': { back: 48 * 3_600_000, step: '1h' }, '30d': { back: 30 * 86_400_000, step: '1d' } };
const SVG = 'http://www.w3.org/2000/svg';
/** The token whose usage is shown: a late answer for another token is dropped. */
let usageOf = null;

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

/** Bytes as people read them: 1.5 kB, 23 MB. */
function shortBytes(bytes) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

const usageLine = (item) =>
  `${item.allowed} allowed, ${item.refused} refused${
    item.refused
      ? ` (${Object.entries(item.refusedBy)
          .map(([reason, n]) => `${reason}: ${n}`)
          .join(', ')})`
      : ''
  }, ${shortBytes(item.bytesIn)} in, ${shortBytes(item.bytesOut)} out`;

/** One bar per step (allowed, refused stacked on it), scaled to the busiest; each says its figures on hover. */
function renderUsage(items, step) {
  const busiest = Math.max(1, ...items.map((item) => item.allowed + item.refused));
  const width = 10;
  const bars = items.map((item, i) => {
    const allowed = (item.allowed / busiest) * 100;
    const refused = (item.refused / busiest) * 100;
    const when = step === '1d' ? item.at.slice(0, 10) : `${item.at.slice(0, 10)} ${item.at.slice(11, 16)} UTC`;
    return svg(
      'g',
      { class: 'usage-bar', 'data-at': item.at, 'data-allowed': item.allowed, 'data-refused': item.refused },
      svg('title', {}, `${when}: ${usageLine(item)}`),
      svg('rect', { class: 'usage-empty', x: i * width, y: 0, width, height: 100 }),
      svg('rect', { class: 'usage-allowed', x: i * width + 1, y: 100 - allowed, width: width - 2, height: allowed }),
      svg('rect', { class: 'usage-refused', x: i * width + 1, y: 100 - allowed - refused, width: width - 2, height: refused }),
    );
  });
  const total = items.reduce(
    (sum, item) => {
      sum.allowed += item.allowed;
      sum.refused += item.refused;
      sum.bytesIn += item.bytesIn;
      sum.bytesOut += item.bytesOut;
      for (const [reason, n] of Object.entries(item.refusedBy)) sum.refusedBy[reason] = (sum.refusedBy[reason] ?? 0) + n;
      return sum;
    },
    { allowed: 0, refused: 0, bytesIn: 0, bytesOut: 0, refusedBy: {} },
  );
  const summary = `${usageLine(total)}; one bar per ${step === '1d' ? 'day' : 'hour'}, blue allowed, red refused`;
  const chart = svg('svg', { viewBox: `0 0 ${items.length * width} 100`, preserveAspectRatio: 'none', role: 'img', 'aria-label': summary }, ...bars);
  $('usage-chart').replaceChildren(chart);
  $('usage-summary').textContent = `Total: ${usageLine(total)}`;
}

async function loadUsage(id) {
  usageOf = id;
  const range = USAGE_RANGES[$('usage-range').value] ?? USAGE_RANGES['7d'];
  const to = Date.now();
  const query = new URLSearchParams({ from: new Date(to - range.back).toISOString(), to: new Date(to).toISOString(), step: range.step });
  try {
    const reply = await api('GET', `/v1/tokens/${id}/usage/history?${query}`);
    if (usageOf === id) renderUsage(reply.items, range.step);
  } catch (err) {
    if (usageOf === id) $('usage-summary').textContent = describe(err);
  }
}

$('usage-range').addEventListener('change', () => usageOf && loadUsage(usageOf));

function openPanel(heading, title, details) {
  usageOf = null;
  $('usage-history').hidden = true;
  $('usage-chart').replaceChildren();
  $('usage-summary').textContent = '';
  $('history-heading').textContent = heading;
  $('history-title').textContent = title;
  $('token-details').hidden = !details;
  $('history-subheading').hidden = !details;
  $('token-details').replaceChildren();
  $('history-list').replaceChildren();
  $('history-panel').hidden = false;
}

async function openHistory(token) {
  openPanel('Token', token.name, true);
  renderDetails(token);
  if (!token.deleted) {
    $('usage-history').hidden = false;
    void loadUsage(token.id);
  }
  try {
    // The row may be a page old: read the token afresh for its last use.
    if (!token.deleted) renderDetails(await api('GET', `/v1/tokens/${token.id}`));
  } catch {
    /* deleted since: keep what the row had */
  }
  try {
    renderHistory((await api('GET', `/v1/tokens/${token.id}/history`)).items);
  } catch (err) {
    $('history-list').replaceChildren(el('li', { class: 'error', text: describe(err) }));
  }
}

// ---- grants as a grid ---------------------------------------------------------------------

const grantsText = (grants) =>
  Object.entries(grants)
    .map(([repo, rights]) => `${repo}: ${rights.join(', ')}`)
    .join('; ');

/**
 * Grants as a grid of repositories x rights, one checkbox each: `*` (every repository), the
 * repositories there are, and any repository a grant still names after it was deleted.
 */
function renderGrid(container, grants, repositories) {
  const names = ['*', ...repositories];
  for (const name of Object.keys(grants)) if (!names.includes(name)) names.push(name);
  const rows = names.map((name) => {
    const held = hasOwn(grants, name) ? grants[name] : [];
    return el(
      'tr',
      { dataset: { repository: name } },
      el('th', { scope: 'row', text: name === '*' ? '* (all repositories)' : name }),
      ...RIGHTS.map((right) =>
        el('td', {}, el('input', { type: 'checkbox', value: right, 'aria-label': `${name} ${right}`, ...(held.includes(right) ? { checked: '' } : {}) })),
      ),
    );
  });
  container.replaceChildren(
    el(
      'table',
      { class: 'grant-grid' },
      el('thead', {}, el('tr', {}, el('th', { text: 'Repository' }), ...RIGHTS.map((right) => el('th', { scope: 'col', text: right })))),
      el('tbody', {}, ...rows),
    ),
  );
}

/** The grid's grants; a repository without a checked right is left out. */
function readGrid(container) {
  const grants = new Map();
  for (const row of container.querySelectorAll('tbody tr')) {
    const rights = checkedRights(row);
    if (rights.length > 0) grants.set(row.dataset.repository, rights);
  }
  return Object.fromEntries(grants);
}

async function repositoryNames() {
  const repos = await api('GET', '/v1/repositories').catch(() => ({ items: [] }));
  state.repositories = repos.items.map((r) => r.name);
  return state.repositories;
}

// ---- users --------------------------------------------------------------------------------

async function loadUsers() {
  try {
    const users = await api('GET', `/v1/users${orgSuffix()}`);
    $('users').tBodies[0].replaceChildren(
      ...users.items.map((user) =>
        el(
          'tr',
          { dataset: { user: user.name } },
          el('td', { class: 'user-name', text: user.name }),
          cell('Grants', { class: 'grants-text', text: grantsText(user.grants) || '—' }),
          cell('Teams', { text: user.teams.join(', ') || '—' }),
          cell('Updated', { title: user.updatedAt, text: relative(user.updatedAt) }),
          el(
            'td',
            {},
            el(
              'div',
              { class: 'actions-inline' },
              el('button', { type: 'button', text: 'Edit grants', 'aria-label': `Edit grants of ${user.name}`, onclick: () => openUser(user) }),
              el('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete user ${user.name}`, onclick: () => deleteUser(user.name) }),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    $('user-error').textContent = describe(err);
  }
}

let editingUser = null;

async function openUser(user) {
  editingUser = user;
  $('user-form').reset();
  $('user-dialog-error').textContent = '';
  $('user-dialog-title').textContent = user ? `Grants of ${user.name}` : 'New user';
  $('user-name').value = user?.name ?? '';
  $('user-name').readOnly = !!user;
  renderGrid($('user-grid'), user?.grants ?? {}, await repositoryNames());
  $('user-dialog').showModal();
}

async function submitUser(event) {
  event.preventDefault();
  $('user-dialog-error').textContent = '';
  try {
    const grants = readGrid($('user-grid'));
    if (editingUser) await api('PATCH', `/v1/users/${editingUser.name}`, { grants });
    else await api('POST', '/v1/users', { name: $('user-name').value.trim(), grants });
    $('user-dialog').close();
    loadUsers();
  } catch (err) {
    $('user-dialog-error').textContent = describe(err);
  }
}

async function deleteUser(name) {
  if (
    !(await ask({
      title: `Delete user ${name}?`,
      text: `Their personal tokens (and the tokens those made) are revoked at once, they leave every team, and the user is removed.`,
      button: 'Delete 1 user',
    }))
  )
    return;
  $('user-error').textContent = '';
  try {
    await api('DELETE', `/v1/users/${name}`);
  } catch (err) {
    $('user-error').textContent = describe(err);
  }
  loadUsers();
}

// ---- repositories -------------------------------------------------------------------------

async function loadRepositories() {
  // `*` admins, and an organization's admins in their organization, create and delete repositories.
  const mayChange = state.isStarAdmin || (isOrgAdmin() && state.org !== '');
  $('repository-form').hidden = !mayChange;
  try {
    const repos = await api('GET', `/v1/repositories${orgSuffix()}`);
    state.repositories = repos.items.map((r) => r.name);
    for (const repo of repos.items) state.repoOrgs.set(repo.name, repo.organization);
    $('repositories').tBodies[0].replaceChildren(
      ...repos.items.map((repo) =>
        el(
          'tr',
          { dataset: { repository: repo.name } },
          el('td', { class: 'repository-name', text: repo.name }),
          cell('Organization', { class: 'repository-organization', text: repo.organization }),
          cell('Created', { title: repo.createdAt, text: relative(repo.createdAt) }),
          cell('Created by', {}, actorNode(repo.createdBy)),
          el(
            'td',
            {},
            el(
              'div',
              { class: 'actions-inline' },
              el('button', { type: 'button', text: 'Tokens', 'aria-label': `Tokens of ${repo.name}`, onclick: () => tokensOf(repo.name) }),
              mayChange
                ? el('button', {
                    type: 'button',
                    class: 'danger',
                    text: 'Delete',
                    'aria-label': `Delete repository ${repo.name}`,
                    onclick: () => deleteRepository(repo.name),
                  })
                : null,
            ),
          ),
        ),
      ),
    );
    if (repos.items.length === 0)
      $('repositories').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'No repositories yet.' })));
  } catch (err) {
    $('repository-error').textContent = describe(err);
  }
}

/** The token list searched for a repository's name, active tokens only (what blocks its delete). */
function tokensOf(name, status = '') {
  $('search').value = name;
  $('filter-status').value = status;
  resetPaging();
  show('tokens');
}

async function deleteRepository(name) {
  if (
    !(await ask({
      title: `Delete repository ${name}?`,
      text: `It is refused while active tokens use it. Revoked tokens and grants that name it are kept (a repository made again with this name meets them).`,
      button: 'Delete 1 repository',
    }))
  )
    return;
  $('repository-error').replaceChildren();
  try {
    await api('DELETE', `/v1/repositories/${name}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      // The API's detail says how many active tokens still use it; say what to do about them.
      $('repository-error').replaceChildren(
        `${name} was not deleted: ${err.message}. Once none is left, delete it again. `,
        el('button', { type: 'button', class: 'link-inline', text: `Show the active tokens of ${name}`, onclick: () => tokensOf(name, 'active') }),
      );
    } else $('repository-error').textContent = describe(err);
  }
  loadRepositories();
}

async function submitRepository(event) {
  event.preventDefault();
  $('repository-error').replaceChildren();
  try {
    await api('POST', '/v1/repositories', { name: $('repository-name').value.trim(), ...(state.org ? { organization: state.org } : {}) });
    $('repository-form').reset();
  } catch (err) {
    $('repository-error').textContent = describe(err);
  }
  loadRepositories();
}

// ---- teams --------------------------------------------------------------------------------

let editingTeam = null;

async function loadTeams() {
  $('team-notice').textContent = '';
  try {
    const teams = await api('GET', `/v1/teams${orgSuffix()}`);
    $('teams').tBodies[0].replaceChildren(
      ...teams.items.map((team) =>
        el(
          'tr',
          { dataset: { team: team.name } },
          el('td', { class: 'team-name', text: team.name }),
          cell('Members', { class: 'wrap members', text: team.members.length ? team.members.join(', ') : '—' }),
          cell('Grants', { class: 'wrap grants', text: grantsText(team.grants) || '—' }),
          cell('Updated', { title: team.updatedAt, text: relative(team.updatedAt) }),
          el(
            'td',
            {},
            el(
              'div',
              { class: 'actions-inline' },
              el('button', { type: 'button', text: 'Edit', 'aria-label': `Edit team ${team.name}`, onclick: () => openTeam(team) }),
              el('button', { type: 'button', text: 'History', 'aria-label': `History of team ${team.name}`, onclick: () => openTeamHistory(team.name) }),
              el('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete team ${team.name}`, onclick: () => deleteTeam(team.name) }),
            ),
          ),
        ),
      ),
    );
    if (teams.items.length === 0) $('teams').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'No teams yet.' })));
  } catch (err) {
    $('team-notice').textContent = describe(err);
  }
}

async function openTeam(team) {
  editingTeam = team;
  $('team-form').reset();
  $('team-error').textContent = '';
  $('team-dialog-title').textContent = team ? `Edit team ${team.name}` : 'New team';
  $('team-name').value = team?.name ?? '';
  $('team-name').readOnly = !!team;
  $('team-members').value = team ? team.members.join(', ') : '';
  const [repos, users] = await Promise.all([api('GET', '/v1/repositories').catch(() => ({ items: [] })), api('GET', '/v1/users').catch(() => ({ items: [] }))]);
  state.repositories = repos.items.map((r) => r.name);
  $('team-user-names').replaceChildren(...users.items.map((user) => el('option', { value: user.name })));
  renderGrid($('team-grid'), team?.grants ?? {}, state.repositories);
  $('team-dialog').showModal();
}

async function submitTeam(event) {
  event.preventDefault();
  $('team-error').textContent = '';
  try {
    const members = $('team-members')
      .value.split(/[\s,]+/)
      .filter(Boolean);
    const grants = readGrid($('team-grid'));
    if (editingTeam) await api('PATCH', `/v1/teams/${editingTeam.name}`, { members, grants });
    else await api('POST', '/v1/teams', { name: $('team-name').value.trim(), members, grants, ...(state.org ? { organization: state.org } : {}) });
    $('team-dialog').close();
    loadTeams();
  } catch (err) {
    $('team-error').textContent = describe(err);
  }
}

async function deleteTeam(name) {
  if (
    !(await ask({
      title: `Delete team ${name}?`,
      text: `Its members lose its grants at once (and their personal tokens with them); its history is kept.`,
      button: 'Delete 1 team',
    }))
  )
    return;
  try {
    await api('DELETE', `/v1/teams/${name}`);
  } catch (err) {
    $('team-notice').textContent = describe(err);
  }
  loadTeams();
}

async function openTeamHistory(name) {
  openPanel('Team history', name, false);
  try {
    renderHistory((await api('GET', `/v1/teams/${name}/history`)).items);
  } catch (err) {
    $('history-list').replaceChildren(el('li', { class: 'error', text: describe(err) }));
  }
}

// ---- wiring -------------------------------------------------------------------------------

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  try {
    await signIn($('sign-in-token').value.trim());
    $('sign-in-token').value = '';
  } catch (err) {
    $('sign-in-error').textContent = err.message;
  }
});
$('sign-out').addEventListener('click', signOut);
for (const button of document.querySelectorAll('[data-view]')) button.addEventListener('click', () => show(button.dataset.view));
$('search').addEventListener(
  'input',
  debounce(() => {
    resetPaging();
    loadTokens();
  }, 250),
);
$('filter-status').addEventListener('change', () => {
  resetPaging();
  loadTokens();
});
$('filter-kind').addEventListener('change', () => {
  resetPaging();
  loadTokens();
});
$('filter-expiring').addEventListener('change', () => {
  resetPaging();
  loadTokens();
});
$('tokens').tHead.addEventListener('click', onSortClick);
$('sort-select').addEventListener('change', onSortSelect);
$('select-all').addEventListener('change', () => {
  for (const token of state.items) {
    if ($('select-all').checked) {
      state.selected.add(token.id);
      state.selectedTokens.set(token.id, token);
    } else {
      state.selected.delete(token.id);
      state.selectedTokens.delete(token.id);
    }
  }
  renderTokens({ items: state.items, total: state.total, nextCursor: state.next });
});
$('next-page').addEventListener('click', () => {
  state.cursors.push(state.cursor);
  state.cursor = state.next;
  loadTokens();
});
$('first-page').addEventListener('click', () => {
  resetPaging();
  loadTokens();
});
$('bulk-delete').addEventListener('click', bulkDelete);
$('generate').addEventListener('click', openGenerate);
$('generate-form').addEventListener('submit', submitGenerate);
$('gen-cancel').addEventListener('click', closeGenerate);
$('gen-done').addEventListener('click', closeGenerate);
$('generate-dialog').addEventListener('close', closeGenerate);
$('copy-secret').addEventListener('click', async () => {
  await navigator.clipboard?.writeText($('secret').value).catch(() => {});
  $('secret').select();
  $('copy-secret').textContent = 'Copied';
});
for (const radio of document.querySelectorAll('input[name="kind"]')) radio.addEventListener('change', kindChanged);
$('roll-form').addEventListener('submit', submitRoll);
$('roll-overlap').addEventListener('change', rollHint);
$('events-type').addEventListener('change', () => loadEvents(50));
$('events-token').addEventListener(
  'input',
  debounce(() => loadEvents(50), 250),
);
$('confirm-cancel').addEventListener('click', () => $('confirm-dialog').close(''));
$('confirm-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('confirm-dialog').close('confirm');
});
$('new-team').addEventListener('click', () => openTeam(null));
$('team-form').addEventListener('submit', submitTeam);
$('team-cancel').addEventListener('click', () => $('team-dialog').close());
$('roll-cancel').addEventListener('click', () => $('roll-dialog').close());
$('gen-expiry').addEventListener('change', () => ($('gen-date-label').hidden = $('gen-expiry').value !== 'custom'));
$('edit-expiry').addEventListener('change', () => ($('edit-date-label').hidden = $('edit-expiry').value !== 'custom'));
$('edit-form').addEventListener('submit', submitEdit);
$('edit-cancel').addEventListener('click', () => $('edit-dialog').close());
$('history-close').addEventListener('click', () => ($('history-panel').hidden = true));
$('user-form').addEventListener('submit', submitUser);
$('user-cancel').addEventListener('click', () => $('user-dialog').close());
$('new-user').addEventListener('click', () => openUser(null));
$('repository-form').addEventListener('submit', submitRepository);
$('show-all').addEventListener('click', showAll);
$('gen-repository').addEventListener('change', repositoryChanged);

if (sessionStorage.getItem(TOKEN_KEY)) {
  signIn(sessionStorage.getItem(TOKEN_KEY)).catch(() => sessionStorage.removeItem(TOKEN_KEY));
}
