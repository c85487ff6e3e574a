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
  repositories: [],
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
    await api('GET', '/v1/tokens?limit=1');
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw err;
  }
  state.isStarAdmin = await api('GET', '/v1/users').then(() => true, () => false);
  applyLifetimeCap(await api('GET', '/v1/settings').catch(() => ({ maxTokenLifetimeSeconds: null })));
  showApp();
}

function showApp() {
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('nav-users').hidden = !state.isStarAdmin;
  $('nav-teams').hidden = !state.isStarAdmin; // teams are for * admins
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
  $('teams-view').hidden = view !== 'teams';
  if (view === 'tokens') loadTokens();
  else if (view === 'teams') loadTeams();
  else loadUsers();
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
      if (token.status === 'active') actions.append(el('button', { type: 'button', text: 'Roll', title: 'Make a new secret for this token', onclick: () => openRoll(token) }));
      if (token.status !== 'active') actions.append(el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: () => remove(token) }));
      actions.append(el('button', { type: 'button', text: 'History', title: 'Details and history', onclick: () => openHistory(token) }));
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
        el('td', { class: 'expires', title: token.expiresAt ?? '', text: token.expiresAt ? relative(token.expiresAt) : 'never' }),
        el('td', { class: 'last-used', title: lastUseTitle(token), text: relative(token.lastUsedAt) }),
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

function lastUseTitle(token) {
  if (!token.lastUsedAt) return 'never used';
  return [token.lastUsedAt, token.lastUsedIp && `from ${token.lastUsedIp}`, token.lastUsedUserAgent && `by ${token.lastUsedUserAgent}`].filter(Boolean).join(' ');
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

function showNotice(text) {
  $('bulk-result').hidden = false;
  $('bulk-result').textContent = text;
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
    showNotice(describe(err));
  }
  loadTokens();
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
  state.repositories = repos.items.map((r) => r.name);
  repositoryOptions();
  $('generate-dialog').showModal();
}

/** A personal token may leave the repository empty: the API makes it `*`, all its user's repositories. */
function repositoryOptions() {
  const personal = new FormData($('generate-form')).get('kind') === 'personal';
  const previous = $('gen-repository').value;
  const options = personal
    ? [['', "all the user's repositories (*)"], ...state.repositories.map((name) => [name, name])]
    : [...(state.isStarAdmin ? [['*', '* (all repositories)']] : []), ...state.repositories.map((name) => [name, name])];
  $('gen-repository').replaceChildren(...options.map(([value, text]) => el('option', { value, text })));
  if (options.some(([value]) => value === previous) && previous !== '' && previous !== '*') $('gen-repository').value = previous;
  $('gen-repository-hint').textContent = personal
    ? "May be left empty: the token then covers all the user's repositories (*), within the user's grants."
    : 'A repository token works on this repository only.';
}

async function submitGenerate(event) {
  event.preventDefault();
  const kind = new FormData($('generate-form')).get('kind');
  const body = {
    kind,
    name: $('gen-name').value,
    rights: checkedRights($('gen-rights')),
    ...(kind === 'personal' ? { user: $('gen-user').value } : {}),
  };
  if ($('gen-repository').value) body.repository = $('gen-repository').value;
  const expiry = expiryBody($('gen-expiry'), $('gen-date'));
  if ('expiresAt' in expiry && expiry.expiresAt === null) delete expiry.expiresAt;
  Object.assign(body, expiry);
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
  $('qr-figure').hidden = !created.qr;
  if (created.qr) $('qr').src = created.qr;
  if (!$('generate-dialog').open) $('generate-dialog').showModal();
}

// ---- roll ---------------------------------------------------------------------------------

let rolling = null;

function openRoll(token) {
  rolling = token;
  $('roll-form').reset();
  $('roll-error').textContent = '';
  $('roll-title').textContent = token.name;
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
    $('edit-error').textContent = describe(err);
  }
}

// ---- details and history -----------------------------------------------------------------

/** Token ids in history (rolledTo, rolledFrom, parentId) become buttons that open that token. */
const LINKED_FIELDS = { rolledTo: 'rolled to token', rolledFrom: 'rolled from token', parentId: 'made by token' };
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
    add('Kind', token.kind);
    add('Repository', token.repository === '*' ? (token.kind === 'personal' ? "* (all the user's repositories)" : '* (all repositories)') : token.repository);
    if (token.user) add('User', token.user);
    add('Rights', token.rights.join(', '));
    add('Created', `${token.createdAt} by ${token.createdBy}`);
    add('Expires', token.expiresAt ? `${token.expiresAt} (${relative(token.expiresAt)})` : 'never');
    if (token.revokedAt) add('Revoked', token.revokedAt);
    add('Last used', token.lastUsedAt ? `${token.lastUsedAt} (${relative(token.lastUsedAt)})` : 'never');
    if (token.lastUsedIp) add('Last used from', token.lastUsedIp);
    if (token.lastUsedUserAgent) add('Last User-Agent', token.lastUsedUserAgent);
    if (token.parentId) add('Made by', 'token ', tokenLink(token.parentId));
  }
  $('token-details').replaceChildren(...rows);
}

function renderChange(field, change) {
  if (field in LINKED_FIELDS && typeof change.to === 'string') return el('li', { class: 'link-change' }, `${LINKED_FIELDS[field]} `, tokenLink(change.to));
  if (field in LINKED_FIELDS && change.to === null) return null;
  return el('li', { text: `${field}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}` });
}

function renderHistory(items) {
  $('history-list').replaceChildren(
    ...items.map((entry) =>
      el(
        'li',
        {},
        el('strong', { text: entry.action }),
        el('span', { class: 'muted', text: ` ${relative(entry.at)} by ${entry.actor}` }),
        ACTION_NOTES[entry.action] ? el('div', { class: 'note', text: ACTION_NOTES[entry.action] }) : null,
        el('ul', {}, ...Object.entries(entry.changes).map(([field, change]) => renderChange(field, change))),
      ),
    ),
  );
}

function openPanel(heading, title, details) {
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

// ---- teams --------------------------------------------------------------------------------

let editingTeam = null;

async function loadTeams() {
  $('team-notice').textContent = '';
  try {
    const teams = await api('GET', '/v1/teams');
    $('teams').tBodies[0].replaceChildren(
      ...teams.items.map((team) =>
        el(
          'tr',
          { dataset: { team: team.name } },
          el('td', { class: 'team-name', text: team.name }),
          el('td', { class: 'wrap members', text: team.members.length ? team.members.join(', ') : '—' }),
          el('td', { class: 'wrap grants', text: grantsText(team.grants) || '—' }),
          el('td', { title: team.updatedAt, text: relative(team.updatedAt) }),
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
  const [repos, users] = await Promise.all([
    api('GET', '/v1/repositories').catch(() => ({ items: [] })),
    api('GET', '/v1/users').catch(() => ({ items: [] })),
  ]);
  state.repositories = repos.items.map((r) => r.name);
  $('team-user-names').replaceChildren(...users.items.map((user) => el('option', { value: user.name })));
  $('team-grant-rows').replaceChildren();
  for (const [repository, rights] of Object.entries(team?.grants ?? {})) addGrantRow(repository, rights);
  if (!team || Object.keys(team.grants).length === 0) addGrantRow('', []);
  $('team-dialog').showModal();
}

let grantRowCount = 0;

/** One grant: a repository (or *) and a checkbox per right. */
function addGrantRow(repository, rights) {
  const n = ++grantRowCount;
  const names = ['*', ...state.repositories];
  if (repository && !names.includes(repository)) names.push(repository); // a grant on a repository since deleted
  const select = el('select', { class: 'grant-repository', id: `grant-repo-${n}` },
    el('option', { value: '', text: 'choose a repository…' }),
    ...names.map((name) => el('option', { value: name, text: name === '*' ? '* (all repositories)' : name })),
  );
  select.value = repository;
  const row = el('div', { class: 'grant-row', role: 'group', 'aria-label': 'Grant' }, el('label', { for: `grant-repo-${n}`, text: 'Repository' }), select);
  for (const right of RIGHTS) {
    row.append(el('label', {}, el('input', { type: 'checkbox', value: right, ...(rights.includes(right) ? { checked: '' } : {}) }), right));
  }
  row.append(el('button', { type: 'button', class: 'remove', text: 'Remove', 'aria-label': 'Remove this grant', onclick: () => row.remove() }));
  $('team-grant-rows').append(row);
  return row;
}

function teamGrants() {
  const grants = {};
  for (const row of $('team-grant-rows').querySelectorAll('.grant-row')) {
    const repository = row.querySelector('select').value;
    const rights = [...row.querySelectorAll('input:checked')].map((box) => box.value);
    if (!repository && rights.length === 0) continue; // an untouched row
    if (!repository) throw new Error('Choose a repository for every grant that has rights, or remove the row.');
    grants[repository] = [...new Set([...(grants[repository] ?? []), ...rights])];
  }
  return grants;
}

async function submitTeam(event) {
  event.preventDefault();
  $('team-error').textContent = '';
  try {
    const members = $('team-members').value.split(/[\s,]+/).filter(Boolean);
    const grants = teamGrants();
    if (editingTeam) await api('PATCH', `/v1/teams/${editingTeam.name}`, { members, grants });
    else await api('POST', '/v1/teams', { name: $('team-name').value.trim(), members, grants });
    $('team-dialog').close();
    loadTeams();
  } catch (err) {
    $('team-error').textContent = describe(err);
  }
}

async function deleteTeam(name) {
  if (!confirm(`Delete team ${name}? Its members lose its grants at once; its history is kept.`)) return;
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
$('search').addEventListener('input', debounce(() => (resetPaging(), loadTokens()), 250));
$('filter-status').addEventListener('change', () => (resetPaging(), loadTokens()));
$('filter-kind').addEventListener('change', () => (resetPaging(), loadTokens()));
$('filter-expiring').addEventListener('change', () => (resetPaging(), loadTokens()));
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
  radio.addEventListener('change', () => {
    $('gen-user-label').hidden = radio.value !== 'personal' || !radio.checked;
    repositoryOptions();
  });
}
$('roll-form').addEventListener('submit', submitRoll);
$('new-team').addEventListener('click', () => openTeam(null));
$('team-form').addEventListener('submit', submitTeam);
$('team-cancel').addEventListener('click', () => $('team-dialog').close());
$('team-add-grant').addEventListener('click', () => addGrantRow('', []).querySelector('select').focus());
$('roll-cancel').addEventListener('click', () => $('roll-dialog').close());
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
