// The seer status page: polls GET /v1/status and GET /v1/models and renders them; loads and
// unloads models with POST /v1/models/load|unload. No framework, no external URLs, no inline
// script (the server's Content-Security-Policy allows only 'self').
//
// With `seer serve --api-key KEY` the data routes need `Authorization: Bearer KEY`; the page
// asks for the key on the first 401 and keeps it in sessionStorage (this tab only). Opening
// the page as /#key=KEY stores the key the same way and removes it from the address bar.
//
// Every figure is also in a data-bytes attribute (exact bytes), which the e2e test reads.
'use strict';

const POLL_MS = 1500;
const KEY_STORAGE = 'seer.apiKey';
const $ = (id) => document.getElementById(id);

let pollTimer = null;
let pollSeq = 0;       // only the latest poll renders and schedules the next one
const busy = new Set();  // model ids with a load/unload in flight

// ---- formatting -------------------------------------------------------------------------

function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n), i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : 1)) + ' ' + units[i];
}

function fmtKeepAlive(s) {
  if (s === null || s === undefined) return '–';
  if (s < 0) return 'never';
  if (s === 0) return 'after each request';
  if (s % 3600 === 0) return (s / 3600) + 'h';
  if (s % 60 === 0) return (s / 60) + 'm';
  return s + 's';
}

function fmtAgo(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  return Math.floor(s / 3600) + 'h ago';
}

// ---- DOM helpers (textContent only: model ids never become markup) ----------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function bytesCell(n, attrs) {
  return el('td', Object.assign({ class: 'num', 'data-bytes': n, title: n + ' bytes' }, attrs), fmtBytes(n));
}

function setBytes(id, n) {
  const e = $(id);
  e.textContent = fmtBytes(n);
  e.setAttribute('data-bytes', String(n));
  e.title = n + ' bytes';
}

function bar(used, total) {
  const pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  const inner = el('span');
  inner.style.width = pct.toFixed(1) + '%';
  return el('span', { class: 'bar', title: pct.toFixed(1) + '%' }, inner);
}

function fillBody(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

// ---- API --------------------------------------------------------------------------------

class AuthError extends Error {}

function apiKey() { return sessionStorage.getItem(KEY_STORAGE) || ''; }

async function api(path, body) {
  const headers = {};
  const key = apiKey();
  if (key) headers['Authorization'] = 'Bearer ' + key;
  const init = { headers, cache: 'no-store' };
  if (body !== undefined) {
    init.method = 'POST';
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) throw new AuthError('the API key is missing or wrong');
  let json = null;
  try { json = await res.json(); } catch (e) { /* a non-JSON body: reported below */ }
  if (!res.ok) {
    const msg = json && json.error ? json.error.code + ': ' + json.error.message : 'HTTP ' + res.status;
    throw new Error(path + ': ' + msg);
  }
  return json;
}

// ---- rendering --------------------------------------------------------------------------

function renderMemory(st) {
  const ghost = st.ghost || {};
  setBytes('rss', st.process.rss_bytes);
  setBytes('peak-rss', st.process.peak_rss_bytes);
  setBytes('ledger-total', st.ledger_total_bytes);
  setBytes('baseline', ghost.baseline_rss_bytes || 0);
  setBytes('ghost', ghost.bytes || 0);
  const sys = st.system;
  const used = sys.total_bytes - sys.available_bytes;
  const ram = $('system-ram');
  ram.textContent = fmtBytes(used) + ' of ' + fmtBytes(sys.total_bytes) + ' (' + sys.used_percent.toFixed(1) + '%)';
  ram.setAttribute('data-bytes', String(used));

  const banner = $('ghost-banner');
  if (ghost.bytes > ghost.threshold_bytes) {
    banner.textContent = 'Ghost memory: the process holds ' + fmtBytes(ghost.bytes) +
        ' that no ledger buffer accounts for (threshold ' + fmtBytes(ghost.threshold_bytes) +
        '; ' + ghost.events + ' events, ' + ghost.trims + ' trims).';
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

function renderDevices(st) {
  fillBody($('devices'), st.devices.map((d) => el('tr', { 'data-device': d.id },
      el('td', {}, d.id), el('td', {}, d.name),
      ...['budget', 'used', 'reserved', 'available', 'peak'].map(
          (f) => bytesCell(d[f + '_bytes'], { 'data-device': d.id, 'data-field': f })),
      el('td', {}, bar(d.used_bytes + d.reserved_bytes, d.budget_bytes)))));
}

function renderLedger(st) {
  const owners = Object.keys(st.ledger).sort();
  const tags = [...new Set(owners.flatMap((o) => Object.keys(st.ledger[o])))].sort();
  const table = $('ledger');
  table.tHead.replaceChildren(el('tr', {}, el('th', {}, 'owner'),
      ...tags.map((t) => el('th', { class: 'num' }, t)), el('th', { class: 'num' }, 'total')));
  const rows = owners.map((o) => {
    const byTag = st.ledger[o];
    const total = Object.values(byTag).reduce((a, b) => a + b, 0);
    return el('tr', { 'data-owner': o }, el('td', {}, o),
        ...tags.map((t) => bytesCell(byTag[t] || 0, { 'data-owner': o, 'data-tag': t })),
        bytesCell(total, { 'data-owner': o, 'data-tag': 'total' }));
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { class: 'muted' }, 'no buffers')));
  fillBody(table, rows);
}

function actionButton(m) {
  if (!m.loadable) return el('span', { class: 'muted' }, 'not loadable');
  const loaded = m.state === 'ready' || m.state === 'loading';
  const action = loaded ? 'unload' : 'load';
  const b = el('button', { type: 'button', 'data-action': action, 'data-model': m.id }, action === 'load' ? 'Load' : 'Unload');
  b.disabled = busy.has(m.id) || m.state === 'loading' || m.state === 'unloading';
  b.addEventListener('click', () => modelAction(action, m.id));
  return b;
}

function renderModels(st, models) {
  const loaded = new Map(st.loaded.map((l) => [l.id, l]));
  fillBody($('models'), models.models.map((m) => {
    const mem = Object.values(m.memory || {}).reduce((a, b) => a + b, 0);
    const state = el('td', { class: 'state-' + m.state, 'data-field': 'state', title: m.reason || '' }, m.state);
    if (m.reason) state.append(el('span', { class: 'muted' }, ' (' + m.reason + ')'));
    const l = loaded.get(m.id);
    return el('tr', { 'data-model': m.id, 'data-state': m.state },
        el('td', { 'data-field': 'id' }, m.id), el('td', {}, m.kind), state,
        bytesCell(mem, { 'data-field': 'memory' }),
        el('td', {}, fmtKeepAlive(m.keep_alive)), el('td', {}, m.pinned ? 'yes' : 'no'),
        el('td', { title: m.last_used || '' }, fmtAgo(m.last_used)),
        el('td', { class: 'num' }, l ? l.max_batch : (m.max_batch || '–')),
        el('td', {}, actionButton(m)));
  }));
}

function renderQueues(st) {
  const inflight = new Map(st.loaded.map((l) => [l.id, l.jobs]));
  const ids = [...new Set([...Object.keys(st.queues), ...inflight.keys()])].sort();
  const rows = ids.map((id) => el('tr', { 'data-queue': id }, el('td', {}, id),
      el('td', { class: 'num' }, st.queues[id] || 0), el('td', { class: 'num' }, inflight.get(id) || 0)));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { class: 'muted' }, 'no queues')));
  fillBody($('queues'), rows);
  $('queue-summary').textContent = 'queue limit ' + st.max_queue + ' per model · ' + st.rejections +
      ' rejected · ' + st.counters.loads + ' loads, ' + st.counters.unloads + ' unloads, ' +
      st.counters.evictions + ' evictions';
}

function render(st, models) {
  $('version').textContent = st.server + ' ' + st.version;
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  renderMemory(st);
  renderDevices(st);
  renderLedger(st);
  renderModels(st, models);
  renderQueues(st);
  $('content').hidden = false;
}

// ---- state --------------------------------------------------------------------------------

function showError(msg) {
  const b = $('error-banner');
  b.textContent = msg || '';
  b.hidden = !msg;
}

function needKey(msg) {
  document.body.dataset.state = 'auth';
  $('auth').hidden = false;
  $('content').hidden = true;
  showError(msg);
}

async function poll() {
  clearTimeout(pollTimer);
  const seq = ++pollSeq;
  try {
    const [st, models] = await Promise.all([api('/v1/status'), api('/v1/models')]);
    if (seq !== pollSeq) return;
    render(st, models);
    $('auth').hidden = true;
    showError('');
    document.body.dataset.state = 'ready';
  } catch (e) {
    if (seq !== pollSeq) return;
    if (e instanceof AuthError) return needKey(apiKey() ? 'The API key was refused.' : '');
    document.body.dataset.state = 'error';
    showError(e instanceof TypeError ? 'The server does not answer (' + e.message + ').' : e.message);
  }
  pollTimer = setTimeout(poll, POLL_MS);
}

async function modelAction(action, id) {
  busy.add(id);
  poll();
  try {
    await api('/v1/models/' + action, { model: id });
    showError('');
  } catch (e) {
    if (e instanceof AuthError) return needKey('The API key was refused.');
    showError(e.message);
  } finally {
    busy.delete(id);
  }
  poll();
}

function init() {
  // A key in the fragment (never sent to the server) goes to sessionStorage, out of the URL.
  const m = /^#key=(.+)$/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY_STORAGE, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  $('auth').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('auth-key').value.trim();
    if (key) sessionStorage.setItem(KEY_STORAGE, key); else sessionStorage.removeItem(KEY_STORAGE);
    $('auth-key').value = '';
    poll();
  });
  poll();
}

init();
