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
  items: [],
  isStarAdmin: false,
};

// ---- the admin API ----------------------------------------------------------------------

class ApiError extends Error {}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(data.detail || data.title || `HTTP ${res.status}`);
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

function relative(iso) {
  if (!iso) return '—';
  const delta = Date.parse(iso) - Date.now();
  const units = [['year', 31536e6], ['month', 2592e6], ['day', 864e5], ['hour', 36e5], ['minute', 6e4]];
  for (const [unit, ms] of units) {
    const count = Math.floor(Math.abs(delta) / ms);
    if (count >= 1) return delta > 0 ? `in ${count} ${unit}${count > 1 ? 's' : ''}` : `${count} ${unit}${count > 1 ? 's' : ''} ago`;
  }
  return 'just now';
}

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
    await api('GET', '/v1/tokens?limit=1');
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
  state.isStarAdmin = await api('GET', '/v1/users').then(() => true, () => false);
  showApp();
}

function showApp() {
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('nav-users').hidden = !state.isStarAdmin;
  $('whoami').textContent = `signed in as ${sessionStorage.getItem(TOKEN_KEY).slice(0, 12)}…`;
  show('tokens');
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

function show(view) {
  $('tokens-view').hidden = view !== 'tokens';
  $('users-view').hidden = view !== 'users';
  if (view === 'tokens') loadTokens();
  else loadUsers();
}

// ---- the token table --------------------------------------------------------------------

function query() {
  const params = new URLSearchParams({ limit: '50' });
  const q = $('search').value.trim();
  if (q) params.set('q', q);
  if ($('filter-status').value) params.set('status', $('filter-status').value);
  if ($('filter-kind').value) params.set('kind', $('filter-kind').value);
  params.set('sort', state.sort.map((key) => (key.descending ? '-' : '') + key.field).join(','));
  if (state.cursor) params.set('cursor', state.cursor);
  return params;
}

async function loadTokens() {
  try {
    const page = await api('GET', `/v1/tokens?${query()}`);
    state.items = page.items;
    state.next = page.nextCursor;
    renderTokens(page);
  } catch (err) {
    $('bulk-result').hidden = false;
    $('bulk-result').textContent = err.message;
  }
}

function renderTokens(page) {
  const body = $('tokens').tBodies[0];
  body.replaceChildren(
    ...page.items.map((token) => {
      const box = el('input', { type: 'checkbox', 'aria-label': `Select ${token.name}` });
      box.checked = state.selected.has(token.id);
      box.addEventListener('change', () => {
        if (box.checked) state.selected.add(token.id);
        else state.selected.delete(token.id);
        $('bulk-delete').disabled = state.selected.size === 0;
      });
      const actions = el('div', { class: 'actions-inline' });
      actions.append(el('button', { type: 'button', text: 'Edit', onclick: () => openEdit(token) }));
      if (token.status === 'revoked') actions.append(el('button', { type: 'button', text: 'Restore', onclick: () => act('restore', token) }));
      else actions.append(el('button', { type: 'button', text: 'Revoke', onclick: () => act('revoke', token) }));
      if (token.status !== 'active') actions.append(el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: () => remove(token) }));
      actions.append(el('button', { type: 'button', text: 'History', onclick: () => openHistory(token) }));
      return el(
        'tr',
        { dataset: { id: token.id } },
        el('td', {}, box),
        el('td', { class: 'name', text: token.name }),
        el('td', { text: token.kind }),
        el('td', { text: token.repository }),
        el('td', { text: token.user ?? '—' }),
        el('td', { text: token.rights.join(', ') }),
        el('td', {}, el('span', { class: `badge ${token.status}`, text: token.status })),
        el('td', {}, el('code', { text: token.prefix })),
        el('td', { title: token.createdAt, text: `${relative(token.createdAt)} by ${token.createdBy}` }),
        el('td', { title: token.expiresAt ?? '', text: token.expiresAt ? relative(token.expiresAt) : 'never' }),
        el('td', { title: token.lastUsedAt ?? '', text: relative(token.lastUsedAt) }),
        el('td', {}, actions),
      );
    }),
  );
  const shown = state.cursors.length * 50;
  $('page-info').textContent = page.total === 0 ? 'No tokens' : `${shown + 1}–${shown + page.items.length} of ${page.total}`;
  $('next-page').disabled = !page.nextCursor;
  $('first-page').disabled = state.cursors.length === 0;
  $('bulk-delete').disabled = state.selected.size === 0;
  renderSortHeaders();
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

function resetPaging() {
  state.cursor = null;
  state.cursors = [];
}

async function act(action, token) {
  await run(() => api('POST', `/v1/tokens/${token.id}/${action}`));
}

async function remove(token) {
  if (!confirm(`Delete token "${token.name}"? Its history is kept.`)) return;
  await run(() => api('DELETE', `/v1/tokens/${token.id}`));
}

async function bulkDelete() {
  const ids = [...state.selected];
  if (ids.length === 0 || !confirm(`Delete ${ids.length} selected token(s)? Only revoked or expired ones can be deleted.`)) return;
  try {
    const result = await api('POST', '/v1/tokens/delete', { ids });
    state.selected.clear();
    const names = new Map(state.items.map((t) => [t.id, t.name]));
    const failures = result.failed.map((f) => `${names.get(f.id) ?? f.id}: ${f.reason.replace('_', ' ')}`);
    showNotice(`Deleted ${result.deleted.length}.${failures.length ? ` Not deleted: ${failures.join('; ')}.` : ''}`);
  } catch (err) {
    showNotice(err.message);
  }
  loadTokens();
}

async function run(step) {
  try {
    await step();
  } catch (err) {
    showNotice(err.message);
  }
  loadTokens();
}

function showNotice(text) {
  $('bulk-result').hidden = false;
  $('bulk-result').textContent = text;
}

// ---- generate -----------------------------------------------------------------------------

async function openGenerate() {
  $('generate-form').reset();
  $('generate-form').hidden = false;
  $('generate-result').hidden = true;
  $('gen-error').textContent = '';
  $('gen-user-label').hidden = true;
  $('gen-date-label').hidden = true;
  rightsBoxes($('gen-rights'), ['query']);
  const repos = await api('GET', '/v1/repositories').catch(() => ({ items: [] }));
  const options = [...(state.isStarAdmin ? ['*'] : []), ...repos.items.map((r) => r.name)];
  $('gen-repository').replaceChildren(...options.map((name) => el('option', { value: name, text: name === '*' ? '* (all repositories)' : name })));
  $('generate-dialog').showModal();
}

async function submitGenerate(event) {
  event.preventDefault();
  const kind = new FormData($('generate-form')).get('kind');
  const body = {
    kind,
    name: $('gen-name').value,
    repository: $('gen-repository').value,
    rights: checkedRights($('gen-rights')),
    ...(kind === 'personal' ? { user: $('gen-user').value } : {}),
  };
  const expiry = expiryBody($('gen-expiry'), $('gen-date'));
  if ('expiresAt' in expiry && expiry.expiresAt === null) delete expiry.expiresAt;
  Object.assign(body, expiry);
  try {
    const created = await api('POST', '/v1/tokens', body);
    $('generate-form').hidden = true;
    $('generate-result').hidden = false;
    $('secret').value = created.secret;
    $('qr-figure').hidden = !created.qr;
    if (created.qr) $('qr').src = created.qr;
    loadTokens();
  } catch (err) {
    $('gen-error').textContent = err.message;
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
  $('edit-dialog').showModal();
}

async function submitEdit(event) {
  event.preventDefault();
  const body = { ...expiryBody($('edit-expiry'), $('edit-date')) };
  if ($('edit-name').value !== editing.name) body.name = $('edit-name').value;
  const rights = checkedRights($('edit-rights'));
  if (rights.join() !== editing.rights.join()) body.rights = rights;
  try {
    if (Object.keys(body).length > 0) await api('PATCH', `/v1/tokens/${editing.id}`, body);
    $('edit-dialog').close();
    loadTokens();
  } catch (err) {
    $('edit-error').textContent = err.message;
  }
}

// ---- history ------------------------------------------------------------------------------

async function openHistory(token) {
  $('history-title').textContent = token.name;
  $('history-list').replaceChildren();
  $('history-panel').hidden = false;
  try {
    const history = await api('GET', `/v1/tokens/${token.id}/history`);
    $('history-list').replaceChildren(
      ...history.items.map((entry) =>
        el(
          'li',
          {},
          el('strong', { text: entry.action }),
          el('span', { class: 'muted', text: ` ${relative(entry.at)} by ${entry.actor}` }),
          el(
            'ul',
            {},
            ...Object.entries(entry.changes).map(([field, change]) => el('li', { text: `${field}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}` })),
          ),
        ),
      ),
    );
  } catch (err) {
    $('history-list').replaceChildren(el('li', { class: 'error', text: err.message }));
  }
}

// ---- users --------------------------------------------------------------------------------

const grantsText = (grants) =>
  Object.entries(grants)
    .map(([repo, rights]) => `${repo}=${rights.join(',')}`)
    .join('; ');

function parseGrants(text) {
  const grants = {};
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const [repo, rights = ''] = part.split('=');
    grants[repo.trim()] = rights.split(',').map((r) => r.trim()).filter(Boolean);
  }
  return grants;
}

async function loadUsers() {
  try {
    const users = await api('GET', '/v1/users');
    $('users').tBodies[0].replaceChildren(
      ...users.items.map((user) => {
        const grants = el('input', { value: grantsText(user.grants), size: '40', 'aria-label': `Grants of ${user.name}` });
        return el(
          'tr',
          {},
          el('td', { text: user.name }),
          el('td', {}, grants),
          el('td', { text: relative(user.updatedAt) }),
          el(
            'td',
            {},
            el(
              'div',
              { class: 'actions-inline' },
              el('button', { type: 'button', text: 'Save grants', onclick: () => userAction(() => api('PATCH', `/v1/users/${user.name}`, { grants: parseGrants(grants.value) })) }),
            el('button', {
              type: 'button',
              class: 'danger',
              text: 'Delete',
              onclick: () => confirm(`Delete user ${user.name}? Their personal tokens are revoked.`) && userAction(() => api('DELETE', `/v1/users/${user.name}`)),
            }),
            ),
          ),
        );
      }),
    );
  } catch (err) {
    $('user-error').textContent = err.message;
  }
}

async function userAction(step) {
  $('user-error').textContent = '';
  try {
    await step();
  } catch (err) {
    $('user-error').textContent = err.message;
  }
  loadUsers();
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
$('search').addEventListener('input', debounce(() => (resetPaging(), loadTokens()), 250));
$('filter-status').addEventListener('change', () => (resetPaging(), loadTokens()));
$('filter-kind').addEventListener('change', () => (resetPaging(), loadTokens()));
$('tokens').tHead.addEventListener('click', onSortClick);
$('select-all').addEventListener('change', () => {
  for (const token of state.items) {
    if ($('select-all').checked) state.selected.add(token.id);
    else state.selected.delete(token.id);
  }
  renderTokens({ items: state.items, total: state.items.length, nextCursor: state.next });
});
$('next-page').addEventListener('click', () => {
  state.cursors.push(state.cursor);
  state.cursor = state.next;
  loadTokens();
});
$('first-page').addEventListener('click', () => (resetPaging(), loadTokens()));
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
for (const radio of document.querySelectorAll('input[name="kind"]')) {
  radio.addEventListener('change', () => ($('gen-user-label').hidden = radio.value !== 'personal' || !radio.checked));
}
$('gen-expiry').addEventListener('change', () => ($('gen-date-label').hidden = $('gen-expiry').value !== 'custom'));
$('edit-expiry').addEventListener('change', () => ($('edit-date-label').hidden = $('edit-expiry').value !== 'custom'));
$('edit-form').addEventListener('submit', submitEdit);
$('edit-cancel').addEventListener('click', () => $('edit-dialog').close());
$('history-close').addEventListener('click', () => ($('history-panel').hidden = true));
$('user-form').addEventListener('submit', (event) => {
  event.preventDefault();
  userAction(async () => {
    await api('POST', '/v1/users', { name: $('user-name').value, grants: parseGrants($('user-grants').value) });
    $('user-form').reset();
  });
});

if (sessionStorage.getItem(TOKEN_KEY)) {
  signIn(sessionStorage.getItem(TOKEN_KEY)).catch(() => sessionStorage.removeItem(TOKEN_KEY));
}
