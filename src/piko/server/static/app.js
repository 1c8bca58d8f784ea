/* Piko Orchestra web UI: one live inbox for every Claude Code agent waiting on you.
 *
 * Plain ES2020, no dependencies, no build step. Data from the server (agent and terminal text) is only ever
 * put in the page with textContent / attributes, never as HTML.
 *
 * Layout of this file:
 *   constants, state, small helpers
 *   formatting (labels, summaries, ages)
 *   server API (fetch) and WebSocket connection manager
 *   state changes (snapshot / created / updated / resolved / dismissed)
 *   rendering (header, list, cards)
 *   toasts and desktop notifications
 *   response modal (details, options, questions, reply, preview polling, answering)
 *   keyboard, help, preferences, start-up
 */
'use strict';

(() => {
  // ---------------------------------------------------------------- constants

  const API = '/api/orchestra';
  const WS_PATH = '/api/orchestra/ws';
  const APP_TITLE = 'Piko Orchestra';

  const BACKOFF_START_MS = 250;
  const BACKOFF_CAP_MS = 5000;
  const OFFLINE_AFTER_FAILURES = 3;
  const PING_EVERY_MS = 20000;
  const STALE_AFTER_MS = 2 * PING_EVERY_MS + 5000; // no message (not even a pong) for this long: the socket is dead
  const PROBE_TIMEOUT_MS = 4000;                   // after waking up: a pong must come back within this
  const AGE_REFRESH_MS = 5000;
  const PREVIEW_EVERY_MS = 1000;
  const TOAST_MS = 6000;
  const MAX_TOASTS = 3;
  const LONG_WAIT_MS = 5 * 60 * 1000;

  const SESSION_KEY = 'piko.orchestra.session'; // this origin's browser session (login.js stores it)
  const PREF_SORT = 'piko.orchestra.sort';
  const PREF_GROUP = 'piko.orchestra.group';

  const KIND_LABELS = { permission: 'Permission', question: 'Question', idle: 'Idle', notice: 'Notice' };

  const GONE_REASONS = {
    keys: 'It was answered from another page or the CLI.',
    hook: 'It was answered from another page or the CLI.',
    terminal: 'It was answered in the terminal.',
    pane_gone: "The agent's tmux pane is gone.",
    dismiss: 'It was dismissed.',
    replaced: 'The same agent asked something newer.',
  };

  const ERROR_HINTS = {
    pane_gone: "The agent's tmux pane is gone, so nothing was typed. You can dismiss this request.",
    no_pane: 'Answer it in its terminal, then dismiss it here.',
    tmux_failed: 'tmux could not type the answer. Try again, or answer in the terminal.',
    already_resolved: 'Nothing was typed: it had already been answered.',
    not_found: 'piko server no longer knows this request.',
    too_large: 'The reply is too long.',
  };

  // ---------------------------------------------------------------- state

  /** The single source of truth; render() draws the page from it. */
  const state = {
    requests: new Map(),     // id -> pending notification record
    loaded: false,           // a snapshot has arrived at least once
    conn: 'reconnecting',    // connected | reconnecting | offline
    everConnected: false,
    authFailed: false,       // 401 / 4401: show the login help
    sort: readPref(PREF_SORT, 'newest', ['newest', 'oldest']),
    group: readPref(PREF_GROUP, 'no', ['yes', 'no']) === 'yes',
    drafts: new Map(),       // id -> unsent reply text
    modal: null,             // see openModal()
  };

  const socket = {
    ws: null,
    generation: 0,           // events of older sockets are ignored
    failures: 0,             // consecutive attempts that ended without a snapshot
    retryTimer: null,
    pingTimer: null,
    probeTimer: null,
    lastMessageAt: 0,
    gotSnapshot: false,
    credential: '',          // what the current socket was opened with
  };

  const cardCache = new Map();    // id -> {el, stamp}
  const headerCache = new Map();  // group label -> element
  const toastsById = new Map();   // id -> toast element
  const desktopNotes = new Map(); // id -> Notification

  // ---------------------------------------------------------------- small helpers

  const $ = (id) => document.getElementById(id);

  // Characters that change how text reads without being seen: C0/C1 controls (but tab and newline), bidi
  // overrides and isolates, zero-width characters, line/paragraph separators. Shown as a mark such as
  // ⟨U+202E⟩, so what the person reads is what runs.
  const HIDDEN_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;

  function charMark(ch) {
    return `⟨U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`;
  }

  /** `s` with every hidden character written as its mark (for titles, labels, one-line summaries). */
  function revealText(s) {
    return String(s).replace(HIDDEN_CHARS, charMark);
  }

  /** `s` as text nodes, each hidden character a highlighted <mark class="hidden-char">. */
  function revealNodes(s) {
    const text = String(s);
    const nodes = [];
    let last = 0;
    for (const m of text.matchAll(HIDDEN_CHARS)) {
      if (m.index > last) nodes.push(document.createTextNode(text.slice(last, m.index)));
      nodes.push(el('mark', { className: 'hidden-char', attrs: { title: 'invisible character' } }, charMark(m[0])));
      last = m.index + m[0].length;
    }
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  /** Create an element. props: className, text (hidden characters shown as marks), attrs {}, dataset {},
   * on {event: fn}; children: nodes or strings (as given). */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    if (props.className) node.className = props.className;
    if (props.text !== undefined && props.text !== null) node.append(...revealNodes(props.text));
    for (const [k, v] of Object.entries(props.attrs || {})) {
      if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const [k, v] of Object.entries(props.dataset || {})) {
      if (v !== undefined && v !== null) node.dataset[k] = String(v);
    }
    for (const [ev, fn] of Object.entries(props.on || {})) node.addEventListener(ev, fn);
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function readPref(key, fallback, allowed) {
    try {
      const v = window.localStorage.getItem(key);
      return allowed.includes(v) ? v : fallback;
    } catch (_) {
      return fallback;
    }
  }

  function writePref(key, value) {
    try { window.localStorage.setItem(key, value); } catch (_) { /* private mode: not remembered */ }
  }

  function isTypingTarget(node) {
    if (!node || !(node instanceof Element)) return false;
    if (node.isContentEditable) return true;
    const tag = node.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
    if (tag !== 'INPUT') return false;
    return !['button', 'submit', 'reset', 'checkbox', 'radio'].includes((node.type || '').toLowerCase());
  }

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  function asText(v) {
    if (v === null || v === undefined) return '';
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  function oneLine(s, max = 200) {
    const flat = revealText(asText(s)).replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  }

  function basename(path) {
    const parts = asText(path).split('/').filter(Boolean);
    return parts.length ? parts[parts.length - 1] : '';
  }

  function timeOf(n) {
    const t = Date.parse(n && n.created_at);
    return Number.isFinite(t) ? t : 0;
  }

  // ---------------------------------------------------------------- formatting

  function kindOf(n) {
    return KIND_LABELS[n.kind] ? n.kind : 'notice';
  }

  function kindLabel(n) {
    return KIND_LABELS[kindOf(n)];
  }

  /** "project · env", falling back to the tmux session or the cwd's last folder. */
  function projectLabel(n) {
    const parts = [n.project_name, n.env_name].filter((p) => typeof p === 'string' && p.trim());
    if (parts.length) return parts.join(' · ');
    if (n.tmux_session) return String(n.tmux_session);
    if (n.cwd) return basename(n.cwd) || String(n.cwd);
    return 'unknown project';
  }

  /** A stable hue per project, so cards of one project share a colour. */
  function projectHue(label) {
    let h = 0;
    for (let i = 0; i < label.length; i += 1) h = (h * 31 + label.charCodeAt(i)) >>> 0;
    return h % 360;
  }

  function relativePath(path, cwd) {
    const p = asText(path);
    const base = asText(cwd).replace(/\/+$/, '');
    if (base && p.startsWith(`${base}/`)) return p.slice(base.length + 1);
    return p;
  }

  function questionsOf(n) {
    const qs = isObject(n.tool_input) && Array.isArray(n.tool_input.questions) ? n.tool_input.questions : [];
    return qs.filter(isObject);
  }

  /** The tool name shown on a card ('' when there is none worth showing). */
  function toolLabel(n) {
    if (kindOf(n) === 'question') return questionsOf(n).length > 1 ? `${questionsOf(n).length} questions` : '';
    return n.tool_name ? String(n.tool_name) : '';
  }

  /** One line saying what the agent wants. */
  function summaryOf(n) {
    const input = isObject(n.tool_input) ? n.tool_input : {};
    const kind = kindOf(n);
    if (kind === 'question') {
      const qs = questionsOf(n);
      if (qs.length) return oneLine(qs[0].question || qs[0].header || n.message);
    }
    if (kind === 'permission' || n.tool_name) {
      const path = input.file_path || input.notebook_path || input.path;
      switch (n.tool_name) {
        case 'Bash': if (input.command) return oneLine(input.command); break;
        case 'WebFetch': if (input.url) return oneLine(input.url); break;
        case 'WebSearch': if (input.query) return oneLine(input.query); break;
        case 'Glob': case 'Grep': if (input.pattern) return oneLine(input.pattern); break;
        case 'Task': case 'Agent': if (input.description) return oneLine(input.description); break;
        default: break;
      }
      if (path) return oneLine(relativePath(path, n.cwd));
      if (input.command) return oneLine(input.command);
      if (input.description) return oneLine(input.description);
    }
    if (n.message) return oneLine(n.message);
    if (n.title) return oneLine(n.title);
    if (Object.keys(input).length) return oneLine(JSON.stringify(input));
    return kind === 'idle' ? 'Claude is waiting for your input' : '';
  }

  function formatAge(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s}s ago`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ago`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h ago`;
    return `${Math.floor(h / 24)}d ago`;
  }

  function ageText(n, now = Date.now()) {
    const t = timeOf(n);
    return t ? formatAge(now - t) : '';
  }

  function modalTitle(n) {
    const kind = kindOf(n);
    if (kind === 'permission') return n.tool_name ? `Allow ${n.tool_name}?` : 'Claude needs your permission';
    if (kind === 'question') {
      const count = questionsOf(n).length;
      return count > 1 ? `Claude has ${count} questions` : 'Claude has a question';
    }
    if (kind === 'idle') return n.message ? oneLine(n.message, 160) : 'Claude is waiting for your input';
    return oneLine(n.title || n.message || 'Notice', 160);
  }

  function modalSubtitle(n) {
    const kind = kindOf(n);
    const where = [projectLabel(n)];
    if (n.tmux_session && n.tmux_session !== where[0]) where.push(`tmux ${n.tmux_session}`);
    if (n.cwd) where.push(String(n.cwd));
    const place = where.join(' — ');
    if (kind === 'notice' && n.title && n.message) return revealText(`${n.message} (${place})`);
    if ((kind === 'permission' || kind === 'question') && n.message) return revealText(`${n.message} — ${place}`);
    return revealText(place);
  }

  // ---------------------------------------------------------------- browser session

  /** This browser's session credential, from storage only this origin (scheme, host, port) can read. */
  function sessionCredential() {
    try { return window.localStorage.getItem(SESSION_KEY) || ''; } catch (_) { return ''; }
  }

  /** The server refused `used`: forget it, unless another tab has meanwhile stored a newer one. */
  function forgetCredential(used) {
    try {
      if (window.localStorage.getItem(SESSION_KEY) === used) window.localStorage.removeItem(SESSION_KEY);
    } catch (_) { /* storage unavailable */ }
  }

  async function signOut() {
    const used = sessionCredential();
    await api('DELETE', '/api/auth/session');
    forgetCredential(used);
    dropSocket();
    window.location.replace('/login#signed-out');
  }

  // ---------------------------------------------------------------- server API

  /** fetch() with the browser session (Authorization: Bearer, no cookie); never throws.
   * Returns {ok, status, data, network}. */
  async function api(method, path, body) {
    const used = sessionCredential();
    const opts = { method, credentials: 'omit', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (used) opts.headers.Authorization = `Bearer ${used}`;
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (err) {
      return { ok: false, status: 0, data: null, network: true, message: err && err.message };
    }
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (res.status === 401) {
      forgetCredential(used);
      onUnauthorized();
    }
    return { ok: res.ok, status: res.status, data, network: false };
  }

  /** "no pane to type into" -> "No pane to type into." */
  function sentence(text) {
    const s = String(text).trim();
    const capital = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?]$/.test(capital) ? capital : `${capital}.`;
  }

  function notificationPath(id) {
    return `${API}/notifications/${encodeURIComponent(id)}`;
  }

  /** A sentence for a person from a failed api() result. */
  function describeFailure(result) {
    if (result.network) {
      return { text: `Could not reach piko server${result.message ? ` (${result.message})` : ''}. The request is still pending.`, code: 'network' };
    }
    const data = isObject(result.data) ? result.data : {};
    const code = typeof data.code === 'string' ? data.code : `http_${result.status}`;
    let text = typeof data.error === 'string' && data.error.trim() ? sentence(data.error) : `piko server answered ${result.status}.`;
    const hint = ERROR_HINTS[code];
    if (hint && !text.includes(hint)) text = `${text} ${hint}`;
    if (code === 'unauthorized') text = `${text} This browser is not signed in: see the help at the top of the page.`;
    return { text, code };
  }

  // ---------------------------------------------------------------- WebSocket connection manager

  function wsUrl() {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${window.location.host}${WS_PATH}`;
  }

  function connect() {
    clearTimeout(socket.retryTimer);
    socket.retryTimer = null;
    dropSocket();
    const generation = ++socket.generation;
    socket.gotSnapshot = false;
    const used = sessionCredential();
    socket.credential = used;
    if (!used) {
      onSocketClosed(generation, 4401); // nothing to connect with; retried in case another tab signs in
      return;
    }
    let ws;
    try {
      // A browser cannot set headers on a WebSocket: the credential goes as a second subprotocol.
      ws = new WebSocket(wsUrl(), ['piko.v1', `piko.bearer.${used}`]);
    } catch (_) {
      onSocketClosed(generation, 0);
      return;
    }
    socket.ws = ws;
    ws.onopen = () => {
      if (generation !== socket.generation) return;
      socket.lastMessageAt = Date.now();
      startPing();
    };
    ws.onmessage = (ev) => {
      if (generation !== socket.generation) return;
      socket.lastMessageAt = Date.now();
      handleMessage(ev.data);
    };
    ws.onclose = (ev) => onSocketClosed(generation, ev.code);
    ws.onerror = () => { /* a close event follows */ };
  }

  /** Forget the current socket (its later events are ignored) and close it. */
  function dropSocket() {
    const ws = socket.ws;
    socket.ws = null;
    socket.generation += 1;
    stopPing();
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try { ws.close(1000, 'reconnecting'); } catch (_) { /* already closing */ }
    }
  }

  function onSocketClosed(generation, code) {
    if (generation !== socket.generation) return;
    socket.ws = null;
    stopPing();
    socket.failures += 1;
    if (code === 4401) {
      if (socket.credential) forgetCredential(socket.credential);
      onUnauthorized();
    }
    // navigator.onLine is not used: piko server is usually on loopback, reachable with the network down.
    const offline = state.authFailed || socket.failures >= OFFLINE_AFTER_FAILURES;
    setConn(offline ? 'offline' : 'reconnecting');
    scheduleReconnect();
  }

  function backoffDelay(failures) {
    if (state.authFailed) return BACKOFF_CAP_MS;
    const base = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** Math.max(0, failures - 1));
    const jittered = base * (0.75 + Math.random() * 0.5);
    return Math.round(Math.min(BACKOFF_CAP_MS, jittered));
  }

  function scheduleReconnect() {
    clearTimeout(socket.retryTimer);
    socket.retryTimer = setTimeout(connect, backoffDelay(socket.failures));
  }

  /** Tab visible again, network back, page restored: check the socket now instead of waiting. */
  function reconnectNow() {
    const ws = socket.ws;
    if (ws && ws.readyState === WebSocket.CONNECTING) return;
    if (ws && ws.readyState === WebSocket.OPEN) {
      probeSocket();
      return;
    }
    connect();
  }

  /** Send a ping; if nothing comes back soon the socket is half-open (after sleep): reconnect. */
  function probeSocket() {
    const ws = socket.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || socket.probeTimer) return;
    const sentAt = Date.now();
    sendPing();
    socket.probeTimer = setTimeout(() => {
      socket.probeTimer = null;
      if (socket.ws === ws && socket.lastMessageAt < sentAt) forceReconnect();
    }, PROBE_TIMEOUT_MS);
  }

  function forceReconnect() {
    dropSocket();
    socket.failures += 1;
    setConn(socket.failures >= OFFLINE_AFTER_FAILURES ? 'offline' : 'reconnecting');
    connect();
  }

  function sendPing() {
    const ws = socket.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    try { ws.send(JSON.stringify({ type: 'ping' })); } catch (_) { /* close event follows */ }
  }

  function startPing() {
    stopPing();
    socket.pingTimer = setInterval(() => {
      if (Date.now() - socket.lastMessageAt > STALE_AFTER_MS) {
        forceReconnect();
        return;
      }
      sendPing();
    }, PING_EVERY_MS);
  }

  function stopPing() {
    clearInterval(socket.pingTimer);
    socket.pingTimer = null;
    clearTimeout(socket.probeTimer);
    socket.probeTimer = null;
  }

  function setConn(next) {
    if (state.conn === next) {
      renderConn();
      return;
    }
    state.conn = next;
    if (next === 'connected') state.everConnected = true;
    scheduleRender();
  }

  function handleMessage(raw) {
    let msg;
    try { msg = JSON.parse(raw); } catch (_) { return; }
    if (!isObject(msg)) return;
    switch (msg.type) {
      case 'snapshot': applySnapshot(Array.isArray(msg.notifications) ? msg.notifications : []); break;
      case 'created':
      case 'updated': upsertRequest(msg.notification); break;
      case 'resolved':
      case 'dismissed': removeRequest(msg.notification, msg.type); break;
      default: break; // pong and anything newer
    }
  }

  // ---------------------------------------------------------------- state changes

  function isPending(n) {
    return !n.status || n.status === 'pending';
  }

  /** Every (re)connect: the snapshot replaces everything (no ghosts, no duplicates). */
  function applySnapshot(list) {
    const previous = state.requests;
    const wasLoaded = state.loaded;
    const next = new Map();
    for (const n of list) {
      if (isObject(n) && n.id && isPending(n)) next.set(String(n.id), n);
    }
    state.requests = next;
    state.loaded = true;
    socket.failures = 0;
    socket.gotSnapshot = true;
    if (state.authFailed) state.authFailed = false;
    setConn('connected');

    for (const id of previous.keys()) {
      if (!next.has(id)) forgetAlerts(id);
    }
    if (wasLoaded) {
      const arrived = [...next.values()].filter((n) => !previous.has(n.id));
      announceMissed(arrived);
    }
    const modal = state.modal;
    if (modal && !modal.gone) {
      const record = next.get(modal.id);
      if (record) {
        modal.record = record;
        renderModal();
      } else {
        goneFromModal(null, null);
      }
    }
    scheduleRender();
  }

  function upsertRequest(n) {
    if (!isObject(n) || !n.id) return;
    if (!isPending(n)) {
      removeRequest(n, n.status);
      return;
    }
    const isNew = !state.requests.has(n.id);
    state.requests.set(n.id, n);
    if (isNew && state.loaded) announce(n);
    const modal = state.modal;
    if (modal && modal.id === n.id && !modal.gone) {
      modal.record = n;
      renderModal();
    }
    scheduleRender();
  }

  function removeRequest(n, how) {
    if (!isObject(n) || !n.id) return;
    state.requests.delete(n.id);
    state.drafts.delete(n.id);
    forgetAlerts(n.id);
    const modal = state.modal;
    if (modal && modal.id === n.id && !modal.gone) {
      if (modal.busy) modal.goneWhileBusy = { record: n, how };
      else goneFromModal(n, how);
    }
    scheduleRender();
  }

  /** Not signed in (any more): nothing of the inbox stays on screen. */
  function onUnauthorized() {
    if (state.authFailed) return;
    state.authFailed = true;
    if (state.modal) closeModal();
    for (const id of state.requests.keys()) forgetAlerts(id);
    state.requests.clear();
    state.loaded = false;
    setConn('offline');
    scheduleRender();
  }

  // ---------------------------------------------------------------- rendering

  let renderQueued = false;

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    // A microtask, not requestAnimationFrame: background tabs must stay current too (title, badge).
    queueMicrotask(() => {
      renderQueued = false;
      render();
    });
  }

  function render() {
    renderHeader();
    renderConn();
    renderList();
    renderModalFooterState();
  }

  function renderHeader() {
    const count = state.requests.size;
    const badge = $('badge');
    badge.textContent = String(count);
    badge.dataset.count = String(count);
    badge.setAttribute('aria-label', `${count} pending ${count === 1 ? 'request' : 'requests'}`);
    const title = count > 0 ? `(${count}) ${APP_TITLE}` : APP_TITLE;
    if (document.title !== title) document.title = title;

    $('login-help').hidden = !state.authFailed;
    $('sign-out').hidden = state.authFailed;
    const loading = $('loading');
    loading.hidden = state.loaded || state.authFailed;
    loading.textContent = state.conn === 'offline'
      ? 'Cannot reach piko server. Is `piko server` running? Retrying…'
      : 'Connecting to piko server…';
    $('empty').hidden = !(state.loaded && count === 0 && !state.authFailed);

    const sortButton = $('sort-toggle');
    sortButton.textContent = state.sort === 'newest' ? 'Newest first' : 'Oldest first';
    sortButton.dataset.sort = state.sort;
    sortButton.setAttribute('aria-label', `Sort order: ${state.sort} first. Click to show ${state.sort === 'newest' ? 'oldest' : 'newest'} first.`);
    $('group-toggle').setAttribute('aria-pressed', String(state.group));
    renderNotifyButton();
  }

  function renderConn() {
    const node = $('conn-status');
    const labels = {
      connected: 'Connected',
      reconnecting: state.everConnected ? 'Reconnecting…' : 'Connecting…',
      offline: state.authFailed ? 'Offline: not signed in' : 'Offline',
    };
    node.dataset.state = state.conn;
    node.querySelector('.conn-text').textContent = labels[state.conn];
    node.title = state.conn === 'offline' && !state.authFailed
      ? 'Cannot reach piko server; retrying in the background'
      : `Connection to piko server: ${state.conn}`;
    document.body.classList.toggle('is-disconnected', state.conn !== 'connected');
  }

  /** Pending requests in display order (sort toggle, then optional grouping that keeps that order). */
  function orderedRequests() {
    const list = [...state.requests.values()].sort((a, b) => (timeOf(a) - timeOf(b)) || String(a.id).localeCompare(String(b.id)));
    if (state.sort === 'newest') list.reverse();
    if (!state.group) return list;
    const groups = new Map();
    for (const n of list) {
      const key = projectLabel(n);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(n);
    }
    return [...groups.values()].flat();
  }

  function oldestPending(excludeId) {
    let best = null;
    for (const n of state.requests.values()) {
      if (n.id === excludeId) continue;
      if (!best || timeOf(n) < timeOf(best) || (timeOf(n) === timeOf(best) && String(n.id) < String(best.id))) best = n;
    }
    return best;
  }

  function renderList() {
    const container = $('requests');
    const items = orderedRequests();
    const nodes = [];
    const counts = new Map();
    if (state.group) for (const n of items) counts.set(projectLabel(n), (counts.get(projectLabel(n)) || 0) + 1);
    let lastGroup = null;
    for (const n of items) {
      if (state.group) {
        const label = projectLabel(n);
        if (label !== lastGroup) {
          nodes.push(groupHeader(label, counts.get(label)));
          lastGroup = label;
        }
      }
      nodes.push(cardFor(n));
    }
    for (const id of [...cardCache.keys()]) if (!state.requests.has(id)) cardCache.delete(id);
    for (const key of [...headerCache.keys()]) if (!counts.has(key)) headerCache.delete(key);
    reconcile(container, nodes);
    container.classList.toggle('stale', state.conn !== 'connected');
  }

  /** Put exactly `nodes` in `container`, moving as little as possible and keeping keyboard focus. */
  function reconcile(container, nodes) {
    const active = document.activeElement;
    const focusedCard = active && active.classList && active.classList.contains('request-card') && container.contains(active) ? active : null;
    const focusedIndex = focusedCard ? [...container.querySelectorAll('.request-card')].indexOf(focusedCard) : -1;

    const keep = new Set(nodes);
    for (const child of [...container.children]) if (!keep.has(child)) child.remove();
    nodes.forEach((node, i) => {
      const current = container.children[i];
      if (current !== node) container.insertBefore(node, current || null);
    });

    if (!focusedCard || state.modal) return;
    if (focusedCard.isConnected) {
      if (document.activeElement !== focusedCard) focusedCard.focus({ preventScroll: true });
      return;
    }
    const cards = container.querySelectorAll('.request-card');
    if (cards.length) cards[Math.min(focusedIndex, cards.length - 1)].focus({ preventScroll: true });
  }

  function groupHeader(label, count) {
    let node = headerCache.get(label);
    if (!node) {
      node = el('h2', { className: 'group-header' });
      node.style.setProperty('--hue', String(projectHue(label)));
      headerCache.set(label, node);
    }
    node.textContent = `${label} (${count})`;
    return node;
  }

  function cardFor(n) {
    const stamp = JSON.stringify([n.updated_at, n.kind, n.tool_name, n.tool_input, n.message, n.title,
      n.project_name, n.env_name, n.tmux_session, n.cwd, n.created_at, state.group]);
    const cached = cardCache.get(n.id);
    if (cached && cached.stamp === stamp) return cached.el;
    const card = cached ? cached.el : el('article', {
      className: 'request-card',
      attrs: { tabindex: '0', role: 'button', 'aria-haspopup': 'dialog' },
      dataset: { id: n.id },
    });
    fillCard(card, n);
    cardCache.set(n.id, { el: card, stamp });
    return card;
  }

  function fillCard(card, n) {
    const kind = kindOf(n);
    const project = projectLabel(n);
    const summary = summaryOf(n);
    const tool = toolLabel(n);
    card.className = `request-card kind-${kind}`;
    card.dataset.id = n.id;
    card.dataset.kind = kind;
    card.style.setProperty('--hue', String(projectHue(project)));
    card.setAttribute('aria-label', `${kindLabel(n)} request from ${project}${tool ? `: ${tool}` : ''}${summary ? ` — ${summary}` : ''}`);
    card.title = summary;

    const age = el('time', { className: 'age', text: ageText(n), attrs: { datetime: n.created_at || '' }, dataset: { time: String(timeOf(n)) } });
    const projectChip = state.group ? null : el('span', { className: 'project', text: project });
    card.replaceChildren(
      el('div', { className: 'card-top' },
        el('span', { className: `kind kind-${kind}`, text: kindLabel(n) }),
        projectChip,
        el('span', { className: 'spacer' }),
        age),
      el('div', { className: 'card-main' },
        tool ? el('span', { className: 'tool', text: tool }) : null,
        el('span', { className: 'summary', text: summary || '—' })),
    );
    markLongWait(card, n);
  }

  function markLongWait(card, n) {
    const t = timeOf(n);
    card.classList.toggle('waiting-long', Boolean(t) && Date.now() - t > LONG_WAIT_MS);
  }

  /** Refresh the "12s ago" labels in place (every few seconds). */
  function refreshAges() {
    const now = Date.now();
    for (const node of document.querySelectorAll('.age[data-time]')) {
      const t = Number(node.dataset.time);
      if (t) node.textContent = formatAge(now - t);
    }
    for (const { el: card } of cardCache.values()) {
      const n = state.requests.get(card.dataset.id);
      if (n) markLongWait(card, n);
    }
  }

  // ---------------------------------------------------------------- toasts and desktop notifications

  function announce(n) {
    showToast(n);
    desktopNotify(n);
  }

  /** Requests that arrived while we were disconnected: one toast each, or one for all. */
  function announceMissed(list) {
    if (!list.length) return;
    if (list.length <= MAX_TOASTS) {
      list.forEach(announce);
      return;
    }
    showToast(null, `${list.length} new requests arrived while disconnected`);
    list.forEach(desktopNotify);
  }

  function showToast(n, text) {
    const container = $('toasts');
    while (container.children.length >= MAX_TOASTS) removeToast(container.firstElementChild);
    const heading = n ? `New ${kindLabel(n).toLowerCase()} request · ${projectLabel(n)}` : text;
    const body = n ? [toolLabel(n), summaryOf(n)].filter(Boolean).join(': ') : '';
    const toast = el('div', { className: 'toast', attrs: { role: 'status' }, dataset: { id: n ? n.id : undefined } },
      el('button', {
        className: 'toast-body',
        attrs: { type: 'button', title: n ? 'Open this request' : 'Dismiss' },
        on: { click: () => { removeToast(toast); if (n) openModal(n.id); } },
      },
      el('strong', { className: 'toast-title', text: heading }),
      body ? el('span', { className: 'toast-text', text: body }) : null),
      el('button', {
        className: 'toast-close icon-button',
        text: '×',
        attrs: { type: 'button', 'aria-label': 'Close notification' },
        on: { click: () => removeToast(toast) },
      }));
    if (n) toast.classList.add(`kind-${kindOf(n)}`);
    container.append(toast);
    if (n) toastsById.set(n.id, toast);

    let timer = setTimeout(() => removeToast(toast), TOAST_MS);
    const pause = () => clearTimeout(timer);
    const resume = () => { clearTimeout(timer); timer = setTimeout(() => removeToast(toast), TOAST_MS / 2); };
    toast.addEventListener('mouseenter', pause);
    toast.addEventListener('focusin', pause);
    toast.addEventListener('mouseleave', resume);
    toast.addEventListener('focusout', resume);
  }

  function removeToast(toast) {
    if (!toast) return;
    if (toast.dataset.id) toastsById.delete(toast.dataset.id);
    toast.remove();
  }

  /** Touch-only devices (phones) mostly cannot show page notifications without a service worker. */
  function notificationsSupported() {
    if (!('Notification' in window) || window.isSecureContext === false) return false;
    const touchOnly = window.matchMedia && window.matchMedia('(hover: none) and (pointer: coarse)').matches;
    return !touchOnly;
  }

  function desktopNotify(n) {
    if (!notificationsSupported() || Notification.permission !== 'granted' || !document.hidden) return;
    try {
      const note = new Notification(`${kindLabel(n)} · ${projectLabel(n)}`, {
        body: [toolLabel(n), summaryOf(n)].filter(Boolean).join(': '),
        tag: `piko-${n.id}`,
      });
      note.onclick = () => {
        window.focus();
        openModal(n.id);
        note.close();
      };
      desktopNotes.set(n.id, note);
    } catch (_) {
      // Some mobile browsers only allow notifications from a service worker: the toast and title still show.
    }
  }

  /** A request left the inbox: its toast and desktop notification go too. */
  function forgetAlerts(id) {
    removeToast(toastsById.get(id));
    const note = desktopNotes.get(id);
    if (note) {
      try { note.close(); } catch (_) { /* already gone */ }
      desktopNotes.delete(id);
    }
  }

  function renderNotifyButton() {
    const button = $('enable-notifications');
    button.hidden = !(notificationsSupported() && Notification.permission === 'default');
  }

  async function enableNotifications() {
    if (!notificationsSupported()) return;
    try {
      const maybe = Notification.requestPermission(() => renderNotifyButton());
      if (maybe && typeof maybe.then === 'function') await maybe;
    } catch (_) { /* the browser said no */ }
    renderNotifyButton();
  }

  // ---------------------------------------------------------------- the response modal

  /*
   * state.modal = {
   *   id, record,              // the request shown (its last known record)
   *   gone: null | {...},      // it was resolved/dismissed elsewhere: buttons disabled
   *   busy: false,             // an answer is on its way
   *   goneWhileBusy: null,     // resolved/dismissed message that came while busy
   *   signature,               // what the details were drawn from (no redraw unless it changes)
   *   selections: Map,         // question index -> Set of labels
   *   previewTimer, previewText, previewStopped, previewSeq,
   * }
   */

  function openModal(id) {
    const record = state.requests.get(id);
    if (!record) return;
    const dialog = $('modal');
    if (state.modal && state.modal.id === id) {
      if (!dialog.open) dialog.showModal();
      return;
    }
    if (state.modal) teardownModal();
    state.modal = {
      id,
      record,
      gone: null,
      busy: false,
      goneWhileBusy: null,
      signature: null,
      selections: new Map(),
      previewTimer: null,
      previewText: null,
      previewStopped: false,
      previewSeq: 0,
    };
    $('response-text').value = state.drafts.get(id) || '';
    $('deny-message').value = '';
    $('preview').textContent = '';
    setPreviewStatus('Loading…', 'muted');
    showModalError(null);
    $('modal-elsewhere').hidden = true;
    dialog.classList.remove('is-gone');
    renderModal();
    if (!dialog.open) dialog.showModal();
    focusModalStart();
    pollPreview(id);
  }

  /** Never put focus on an answer button on open: a held or repeated Enter must not approve anything. */
  function focusModalStart() {
    const modal = state.modal;
    if (!modal) return;
    const kind = kindOf(modal.record);
    const finePointer = window.matchMedia && window.matchMedia('(pointer: fine)').matches;
    if ((kind === 'idle' || kind === 'notice') && finePointer) {
      $('response-text').focus();
      return;
    }
    $('modal').querySelector('.modal-inner').focus({ preventScroll: true });
  }

  function closeModal() {
    const modal = state.modal;
    if (!modal) return;
    teardownModal();
    const dialog = $('modal');
    if (dialog.open) dialog.close();
    restoreListFocus(modal.id);
  }

  function teardownModal() {
    const modal = state.modal;
    if (!modal) return;
    clearTimeout(modal.previewTimer);
    const draft = $('response-text').value;
    if (draft && !modal.gone && state.requests.has(modal.id)) state.drafts.set(modal.id, draft);
    else state.drafts.delete(modal.id);
    state.modal = null;
  }

  function restoreListFocus(id) {
    const cards = [...$('requests').querySelectorAll('.request-card')];
    const card = cards.find((c) => c.dataset.id === id) || cards[0];
    if (card) card.focus({ preventScroll: false });
  }

  function modalSignature(n) {
    return JSON.stringify([n.kind, n.tool_name, n.tool_input, n.options, n.message, n.title]);
  }

  function renderModal() {
    const modal = state.modal;
    if (!modal) return;
    const n = modal.record;
    const kind = kindOf(n);
    const dialog = $('modal');
    dialog.dataset.id = n.id;
    dialog.dataset.kind = kind;

    const kindNode = $('modal-kind');
    kindNode.className = `kind kind-${kind}`;
    kindNode.textContent = kindLabel(n);
    const projectNode = $('modal-project');
    projectNode.textContent = projectLabel(n);
    projectNode.style.setProperty('--hue', String(projectHue(projectLabel(n))));
    const age = $('modal-age');
    age.dataset.time = String(timeOf(n));
    age.textContent = ageText(n);
    // How an answer will travel: straight to Claude through its waiting hook, or typed as keys.
    const route = $('modal-route');
    const choice = kind === 'permission' || kind === 'question';
    route.hidden = !choice;
    route.dataset.route = n.hook_waiting ? 'hook' : 'keys';
    route.textContent = n.hook_waiting ? 'answer goes straight to Claude' : 'answer is typed into the terminal';
    route.title = n.hook_waiting
      ? 'Claude Code\'s hook is waiting: your choice reaches it as a decision, no keystroke typed'
      : 'No hook is waiting: your choice is pressed as a key on the dialog in the terminal';
    $('modal-title').textContent = modalTitle(n);
    $('modal-subtitle').textContent = modalSubtitle(n);
    // Free text is for an idle prompt or a notice. While a permission or question dialog is up, text would
    // be typed into the dialog (the server refuses it): those are answered with their buttons.
    const typed = kind === 'idle' || kind === 'notice';
    $('reply-label').textContent = 'Your reply (typed into the terminal)';
    for (const node of [$('reply-label'), $('response-text'), $('send')]) node.hidden = !typed;

    const signature = modalSignature(n);
    if (signature !== modal.signature) {
      modal.signature = signature;
      $('modal-details').replaceChildren(...detailsFor(n));
      renderAnswerControls(n);
    }
    renderModalFooterState();
  }

  // ----- what the agent wants

  function field(label, ...content) {
    return el('div', { className: 'field' }, el('div', { className: 'field-label', text: label }), ...content);
  }

  function codeBlock(text, extraClass = '') {
    return el('pre', { className: `code ${extraClass}`.trim(), text: asText(text), attrs: { tabindex: '0' } });
  }

  function detailsFor(n) {
    const kind = kindOf(n);
    const input = isObject(n.tool_input) ? n.tool_input : null;
    if (kind === 'question') {
      return [];
    }
    if (kind === 'permission') {
      if (!input || !Object.keys(input).length) {
        return [el('p', { className: 'muted', text: `${n.message || 'Claude needs your permission.'} The terminal below shows the details.` })];
      }
      return toolDetails(n.tool_name, input);
    }
    const parts = [];
    if (n.message && oneLine(n.message, 160) !== modalTitle(n)) parts.push(el('p', { className: 'message', text: n.message }));
    if (input && Object.keys(input).length) parts.push(...toolDetails(n.tool_name, input));
    return parts;
  }

  function toolDetails(tool, input) {
    const parts = [];
    if (tool) parts.push(field('Tool', el('code', { className: 'tool-name', text: tool })));
    const filePath = input.file_path || input.notebook_path;
    switch (tool) {
      case 'Bash':
        parts.push(field('Command', codeBlock(input.command, 'command')));
        if (input.description) parts.push(field('Description', el('p', { text: input.description })));
        if (input.run_in_background) parts.push(el('p', { className: 'muted', text: 'Runs in the background.' }));
        if (input.timeout) parts.push(el('p', { className: 'muted', text: `Timeout: ${input.timeout} ms` }));
        return parts;
      case 'Write':
        parts.push(field('File', el('code', { className: 'path', text: filePath || '' })));
        parts.push(field(`Content (${lineCount(input.content)})`, codeBlock(input.content, 'file-content')));
        return parts;
      case 'Edit':
        parts.push(field('File', el('code', { className: 'path', text: filePath || '' })));
        parts.push(...editBlocks(input));
        return parts;
      case 'MultiEdit':
        parts.push(field('File', el('code', { className: 'path', text: filePath || '' })));
        (Array.isArray(input.edits) ? input.edits : []).forEach((edit, i) => {
          if (isObject(edit)) parts.push(el('div', { className: 'edit-group' }, el('div', { className: 'field-label', text: `Edit ${i + 1}` }), ...editBlocks(edit)));
        });
        return parts;
      case 'NotebookEdit':
        parts.push(field('Notebook', el('code', { className: 'path', text: filePath || '' })));
        if (input.edit_mode) parts.push(field('Mode', el('p', { text: input.edit_mode })));
        parts.push(field('New source', codeBlock(input.new_source, 'file-content')));
        return parts;
      case 'WebFetch':
        parts.push(field('URL', el('code', { className: 'path', text: input.url || '' })));
        if (input.prompt) parts.push(field('Prompt', el('p', { text: input.prompt })));
        return parts;
      default:
        if (filePath && Object.keys(input).length === 1) {
          parts.push(field('File', el('code', { className: 'path', text: filePath })));
          return parts;
        }
        parts.push(field('Input', codeBlock(JSON.stringify(input, null, 2), 'json')));
        return parts;
    }
  }

  function editBlocks(edit) {
    const blocks = [
      field('Replace', codeBlock(edit.old_string, 'diff-old')),
      field('With', codeBlock(edit.new_string, 'diff-new')),
    ];
    if (edit.replace_all) blocks.push(el('p', { className: 'muted', text: 'Every occurrence is replaced.' }));
    return blocks;
  }

  function lineCount(text) {
    const s = asText(text);
    const lines = s ? s.split('\n').length - (s.endsWith('\n') ? 1 : 0) : 0;
    return `${lines} ${lines === 1 ? 'line' : 'lines'}`;
  }

  // ----- the answer controls: option buttons, questions

  function renderAnswerControls(n) {
    const kind = kindOf(n);
    const optionsBox = $('modal-options');
    const questionsBox = $('questions');
    const options = Array.isArray(n.options) ? n.options.filter(isObject) : [];
    const questions = kind === 'question' ? questionsOf(n) : [];
    const focusKey = describeFocusedControl();

    optionsBox.replaceChildren();
    questionsBox.replaceChildren();
    $('deny-message-row').hidden = true;
    $('submit-answers').hidden = true;

    if (questions.length) {
      renderQuestions(questions);
    } else if (options.length) {
      optionsBox.append(...options.map((opt) => optionButton(opt)));
      $('deny-message-row').hidden = !options.some((opt) => opt.decision === 'deny');
    }
    numberOptionButtons();
    restoreFocusedControl(focusKey);
  }

  function optionButton(opt) {
    const decision = typeof opt.decision === 'string' ? opt.decision : '';
    const button = el('button', {
      className: `option${decision ? ` decision-${decision}` : ''}`,
      attrs: { type: 'button' },
      dataset: { decision: decision || undefined, key: opt.key !== undefined ? opt.key : undefined },
      on: { click: () => chooseOption(opt) },
    },
    el('kbd', { className: 'opt-num', attrs: { 'aria-hidden': 'true' } }),
    el('span', { className: 'opt-label', text: opt.label || opt.key || decision || '?' }),
    opt.description ? el('span', { className: 'opt-desc', text: opt.description }) : null);
    return button;
  }

  function chooseOption(opt) {
    const modal = state.modal;
    if (!modal || modal.busy || modal.gone) return;
    if (typeof opt.decision === 'string' && opt.decision) {
      const body = { notification_id: modal.id, decision: opt.decision };
      const message = $('deny-message').value.trim();
      if (opt.decision === 'deny' && message) body.message = message;
      respond(body);
      return;
    }
    if (kindOf(modal.record) === 'question' && opt.label) {
      const q = questionsOf(modal.record)[0];
      if (q && q.question) {
        respond({ notification_id: modal.id, answers: { [q.question]: String(opt.label) } });
        return;
      }
    }
    respond({ notification_id: modal.id, response: String(opt.key !== undefined ? opt.key : opt.label), response_type: 'option' });
  }

  function needsSubmit(questions) {
    return questions.length > 1 || questions.some((q) => q.multiSelect);
  }

  function renderQuestions(questions) {
    const modal = state.modal;
    const box = $('questions');
    const withSubmit = needsSubmit(questions);
    questions.forEach((q, qi) => {
      const selected = modal.selections.get(qi) || new Set();
      const legend = el('legend', { className: 'question-legend' },
        q.header ? el('span', { className: 'question-header', text: q.header }) : null,
        el('span', { className: 'question-text', text: q.question || '' }));
      const opts = (Array.isArray(q.options) ? q.options : []).filter(isObject).map((opt) => el('button', {
        className: 'option',
        attrs: { type: 'button', 'aria-pressed': withSubmit ? String(selected.has(String(opt.label))) : null },
        dataset: { label: String(opt.label ?? ''), question: String(qi) },
        on: { click: () => chooseQuestionOption(qi, String(opt.label ?? '')) },
      },
      el('kbd', { className: 'opt-num', attrs: { 'aria-hidden': 'true' } }),
      el('span', { className: 'opt-label', text: opt.label ?? '' }),
      opt.description ? el('span', { className: 'opt-desc', text: opt.description }) : null));
      box.append(el('fieldset', { className: 'question', dataset: { question: String(qi) } },
        legend,
        q.multiSelect ? el('p', { className: 'muted hint', text: 'Choose one or more, then Submit.' }) : null,
        el('div', { className: 'options' }, ...opts)));
    });
    $('submit-answers').hidden = !withSubmit;
    updateSubmitState();
  }

  function chooseQuestionOption(qi, label) {
    const modal = state.modal;
    if (!modal || modal.busy || modal.gone) return;
    const questions = questionsOf(modal.record);
    const q = questions[qi];
    if (!q) return;
    if (!needsSubmit(questions)) {
      respond({ notification_id: modal.id, answers: { [String(q.question)]: label } });
      return;
    }
    const selected = new Set(modal.selections.get(qi) || []);
    if (q.multiSelect) {
      if (selected.has(label)) selected.delete(label); else selected.add(label);
    } else {
      selected.clear();
      selected.add(label);
    }
    modal.selections.set(qi, selected);
    for (const button of $('questions').querySelectorAll(`button.option[data-question="${qi}"]`)) {
      button.setAttribute('aria-pressed', String(selected.has(button.dataset.label)));
    }
    updateSubmitState();
  }

  function collectAnswers() {
    const modal = state.modal;
    const questions = questionsOf(modal.record);
    const answers = {};
    for (let qi = 0; qi < questions.length; qi += 1) {
      const q = questions[qi];
      const chosen = modal.selections.get(qi);
      if (!chosen || !chosen.size) return null;
      // Keep the order the options were offered in.
      const order = (Array.isArray(q.options) ? q.options : []).map((o) => String(o && o.label));
      const labels = [...chosen].sort((a, b) => order.indexOf(a) - order.indexOf(b));
      answers[String(q.question)] = labels.join(', ');
    }
    return answers;
  }

  function updateSubmitState() {
    const modal = state.modal;
    const button = $('submit-answers');
    if (!modal || button.hidden) return;
    const ready = collectAnswers() !== null;
    button.disabled = !ready || modal.busy || Boolean(modal.gone);
    button.title = ready ? 'Submit (Ctrl+Enter)' : 'Answer every question first';
  }

  function submitAnswers() {
    const modal = state.modal;
    if (!modal || modal.busy || modal.gone || $('submit-answers').hidden) return;
    const answers = collectAnswers();
    if (!answers) {
      showModalError({ text: 'Answer every question first.', code: 'incomplete' });
      return;
    }
    respond({ notification_id: modal.id, answers });
  }

  /** Digits 1-9 and the little numbers on the buttons follow the buttons' order on screen. */
  function numberOptionButtons() {
    optionButtons().forEach((button, i) => {
      const num = button.querySelector('.opt-num');
      if (num) num.textContent = i < 9 ? String(i + 1) : '';
    });
  }

  function optionButtons() {
    return [...$('modal').querySelectorAll('button.option')];
  }

  function describeFocusedControl() {
    const active = document.activeElement;
    if (!active || !active.classList || !active.classList.contains('option')) return null;
    return optionButtons().indexOf(active);
  }

  function restoreFocusedControl(index) {
    if (index === null || index < 0) return;
    const buttons = optionButtons();
    if (buttons[index]) buttons[index].focus({ preventScroll: true });
  }

  // ----- busy / gone / errors

  function renderModalFooterState() {
    const modal = state.modal;
    if (!modal) return;
    const locked = modal.busy || Boolean(modal.gone);
    for (const button of optionButtons()) button.disabled = locked;
    $('send').disabled = locked;
    $('dismiss').disabled = locked;
    $('response-text').disabled = Boolean(modal.gone);
    $('deny-message').disabled = Boolean(modal.gone);
    $('modal').setAttribute('aria-busy', String(modal.busy));
    updateSubmitState();
    const next = $('open-next');
    next.hidden = !(modal.gone && oldestPending(modal.id));
  }

  /** The request left the inbox while its modal is open: say so and lock it, do not just vanish. */
  function goneFromModal(record, how) {
    const modal = state.modal;
    if (!modal) return;
    modal.gone = { record, how };
    clearTimeout(modal.previewTimer);
    $('modal').classList.add('is-gone');
    $('modal-elsewhere').hidden = false;
    $('modal-elsewhere-detail').textContent = record ? goneDetail(record, how) : 'It is no longer pending.';
    renderModalFooterState();
    if (!record) explainGone(modal.id);
    else pollPreview(modal.id); // keep showing the terminal a little longer: it shows what happened
  }

  function goneDetail(record, how) {
    const dismissed = how === 'dismissed' || record.status === 'dismissed';
    const via = typeof record.resolved_via === 'string' ? record.resolved_via : '';
    let text = dismissed ? 'It was dismissed.' : (GONE_REASONS[via] || '');
    if (!text && via.startsWith('event:')) text = `The agent moved on (${via.slice(6)}).`;
    if (!text) text = 'It is no longer pending.';
    if (!dismissed && record.response !== null && record.response !== undefined && record.response !== '') {
      text = `${text} Answer: ${oneLine(isObject(record.response) ? JSON.stringify(record.response) : record.response, 120)}`;
    }
    return text;
  }

  async function explainGone(id) {
    const result = await api('GET', notificationPath(id));
    const modal = state.modal;
    if (!modal || modal.id !== id || !modal.gone) return;
    if (result.ok && isObject(result.data) && !isPending(result.data)) {
      modal.gone.record = result.data;
      $('modal-elsewhere-detail').textContent = goneDetail(result.data, result.data.status);
    }
  }

  function showModalError(error) {
    const box = $('modal-error');
    if (!error) {
      box.hidden = true;
      box.replaceChildren();
      delete box.dataset.code;
      return;
    }
    box.dataset.code = error.code || '';
    box.replaceChildren(
      el('span', { className: 'error-text', text: error.text }),
      error.code ? el('code', { className: 'error-code', text: error.code }) : null,
    );
    box.hidden = false;
  }

  // ----- answering

  async function respond(body) {
    const modal = state.modal;
    if (!modal || modal.busy || modal.gone) return;
    await runAction(modal, () => api('POST', `${API}/respond`, body));
  }

  async function dismissRequest() {
    const modal = state.modal;
    if (!modal || modal.busy || modal.gone) return;
    await runAction(modal, () => api('DELETE', notificationPath(modal.id)));
  }

  function sendText() {
    const modal = state.modal;
    if (!modal || modal.busy || modal.gone) return;
    const text = $('response-text').value;
    if (!text.trim()) {
      showModalError({ text: 'Type a reply first.', code: '' });
      $('response-text').focus();
      return;
    }
    respond({ notification_id: modal.id, response: text });
  }

  /** Run a POST/DELETE for the open modal: lock it, then close on success or show the error. */
  async function runAction(modal, call) {
    modal.busy = true;
    modal.goneWhileBusy = null;
    showModalError(null);
    renderModalFooterState();
    const result = await call();
    modal.busy = false;
    if (state.modal !== modal) return; // closed meanwhile
    if (result.ok) {
      state.requests.delete(modal.id);
      state.drafts.delete(modal.id);
      forgetAlerts(modal.id);
      $('response-text').value = '';
      closeModal();
      scheduleRender();
      return;
    }
    const failure = describeFailure(result);
    showModalError(failure);
    if (modal.goneWhileBusy) {
      goneFromModal(modal.goneWhileBusy.record, modal.goneWhileBusy.how);
    } else if (failure.code === 'already_resolved' || failure.code === 'not_found') {
      state.requests.delete(modal.id);
      goneFromModal(null, null);
      scheduleRender();
    }
    renderModalFooterState();
  }

  // ----- terminal preview

  function setPreviewStatus(text, tone) {
    const node = $('preview-status');
    node.textContent = text;
    node.dataset.tone = tone || '';
  }

  async function pollPreview(id) {
    const modal = state.modal;
    if (!modal || modal.id !== id) return;
    clearTimeout(modal.previewTimer);
    const seq = ++modal.previewSeq; // one polling loop per modal, whatever restarted it
    if (!document.hidden) {
      const result = await api('GET', `${notificationPath(id)}/screen`);
      if (state.modal !== modal || seq !== modal.previewSeq) return;
      showPreviewResult(result);
      if (modal.previewStopped) return;
    }
    if (modal.gone) return; // one last look after it left the inbox, then stop
    modal.previewTimer = setTimeout(() => pollPreview(id), PREVIEW_EVERY_MS);
  }

  function showPreviewResult(result) {
    const modal = state.modal;
    if (result.ok && isObject(result.data)) {
      const lines = Array.isArray(result.data.lines) ? result.data.lines.map(asText) : [];
      while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
      updatePreviewText(lines.join('\n'));
      if (result.data.pane_alive !== false) setPreviewStatus('Live', 'ok');
      else if (modal && !modal.record.tmux_target) setPreviewStatus('No tmux pane: this request came from outside tmux', 'muted');
      else setPreviewStatus("The agent's pane is gone", 'error');
      return;
    }
    if (result.network) {
      setPreviewStatus('Preview unavailable, retrying…', 'warn');
      return;
    }
    const failure = describeFailure(result);
    if (failure.code === 'no_pane') {
      setPreviewStatus('No tmux pane is known for this request', 'muted');
      modal.previewStopped = true;
    } else if (failure.code === 'pane_gone') {
      setPreviewStatus("The agent's pane is gone", 'error');
    } else if (failure.code === 'not_found') {
      setPreviewStatus('piko server no longer knows this request', 'muted');
      modal.previewStopped = true;
    } else {
      setPreviewStatus(failure.text, 'error');
    }
  }

  /** Show the pane's text; stay at the bottom unless the person scrolled up to read. */
  function updatePreviewText(text) {
    const modal = state.modal;
    if (!modal || modal.previewText === text) return;
    const pre = $('preview');
    const first = modal.previewText === null;
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    modal.previewText = text;
    pre.textContent = text;
    if (first || atBottom) pre.scrollTop = pre.scrollHeight;
  }

  // ---------------------------------------------------------------- keyboard

  function cards() {
    return [...$('requests').querySelectorAll('.request-card')];
  }

  function moveCardFocus(delta) {
    const list = cards();
    if (!list.length) return false;
    const index = list.indexOf(document.activeElement);
    let next;
    if (delta === Infinity) next = list.length - 1;
    else if (delta === -Infinity) next = 0;
    else if (index < 0) next = delta > 0 ? 0 : list.length - 1;
    else next = Math.max(0, Math.min(list.length - 1, index + delta));
    list[next].focus();
    list[next].scrollIntoView({ block: 'nearest' });
    return true;
  }

  function openNext() {
    const current = state.modal ? state.modal.id : null;
    const next = oldestPending(current);
    if (next) openModal(next.id);
    return Boolean(next);
  }

  function onKeyDown(e) {
    if ($('help').open) return; // the help dialog closes with Esc (native) or its button
    if (state.modal) {
      onModalKey(e);
      return;
    }
    if (isTypingTarget(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    const onCard = e.target instanceof Element && e.target.classList.contains('request-card');
    let handled = true;
    switch (e.key) {
      case 'j': case 'ArrowDown': handled = moveCardFocus(1); break;
      case 'k': case 'ArrowUp': handled = moveCardFocus(-1); break;
      case 'Home': handled = onCard && moveCardFocus(-Infinity); break;
      case 'End': handled = onCard && moveCardFocus(Infinity); break;
      case 'Enter': case ' ':
        handled = onCard;
        if (onCard) openModal(e.target.dataset.id);
        break;
      case 'n': openNext(); break;
      case 's': toggleSort(); break;
      case '?': openHelp(); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  }

  function onModalKey(e) {
    const target = e.target;
    const composing = e.isComposing || e.keyCode === 229;
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !composing) {
      e.preventDefault();
      primaryAction(target);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !composing) {
      if (target === $('response-text')) {
        e.preventDefault();
        sendText();
        return;
      }
      if (target === $('deny-message')) {
        e.preventDefault();
        const deny = $('modal-options').querySelector('button.option[data-decision="deny"]');
        if (deny && !deny.disabled) deny.click();
        return;
      }
    }
    if (isTypingTarget(target) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (/^[1-9]$/.test(e.key)) {
      const button = optionButtons()[Number(e.key) - 1];
      if (button && !button.disabled) {
        e.preventDefault();
        button.focus({ preventScroll: true });
        button.click();
      }
      return;
    }
    if (e.key === 'n') {
      e.preventDefault();
      openNext();
    } else if (e.key === '?') {
      e.preventDefault();
      openHelp();
    }
  }

  /** Ctrl/Cmd+Enter: send the reply if there is one, else submit the answers, else deny with the message. */
  function primaryAction(target) {
    if ($('response-text').value.trim()) {
      sendText();
      return;
    }
    if (!$('submit-answers').hidden) {
      submitAnswers();
      return;
    }
    if (target === $('deny-message')) {
      const deny = $('modal-options').querySelector('button.option[data-decision="deny"]');
      if (deny && !deny.disabled) deny.click();
      return;
    }
    sendText(); // says "Type a reply first"
  }

  // ---------------------------------------------------------------- help, preferences

  function openHelp() {
    const help = $('help');
    if (!help.open) help.showModal();
    $('help-close').focus();
  }

  function toggleSort() {
    state.sort = state.sort === 'newest' ? 'oldest' : 'newest';
    writePref(PREF_SORT, state.sort);
    scheduleRender();
  }

  function toggleGroup() {
    state.group = !state.group;
    writePref(PREF_GROUP, state.group ? 'yes' : 'no');
    scheduleRender();
  }

  // ---------------------------------------------------------------- start-up

  function showLoginOrigin() {
    if (!/^https?:$/.test(window.location.protocol)) return;
    for (const node of document.querySelectorAll('.login-origin')) node.textContent = window.location.origin;
  }

  function bindEvents() {
    const list = $('requests');
    list.addEventListener('click', (e) => {
      const card = e.target instanceof Element ? e.target.closest('.request-card') : null;
      if (card) openModal(card.dataset.id);
    });

    const dialog = $('modal');
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      closeModal();
    });
    // 'close' is queued: by the time it fires another request may already be open in the same dialog.
    dialog.addEventListener('close', () => { if (state.modal && !dialog.open) closeModal(); });
    // A click on the backdrop (outside the panel) closes, like Esc.
    dialog.addEventListener('click', (e) => { if (e.target === dialog) closeModal(); });
    $('modal-close').addEventListener('click', closeModal);
    $('send').addEventListener('click', sendText);
    $('dismiss').addEventListener('click', dismissRequest);
    $('submit-answers').addEventListener('click', submitAnswers);
    $('open-next').addEventListener('click', openNext);
    $('response-text').addEventListener('input', () => {
      if (state.modal && $('modal-error').dataset.code === '') showModalError(null);
    });

    const help = $('help');
    $('help-button').addEventListener('click', openHelp);
    $('help-close').addEventListener('click', () => help.close());
    help.addEventListener('click', (e) => { if (e.target === help) help.close(); });

    $('sort-toggle').addEventListener('click', toggleSort);
    $('group-toggle').addEventListener('click', toggleGroup);
    $('enable-notifications').addEventListener('click', enableNotifications);
    $('sign-out').addEventListener('click', signOut);
    // Another tab of this origin signed in: connect with its session now.
    window.addEventListener('storage', (e) => { if (e.key === SESSION_KEY && e.newValue) reconnectNow(); });

    document.addEventListener('keydown', onKeyDown);
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return;
      reconnectNow();
      refreshAges();
      if (state.modal && !state.modal.gone && !state.modal.previewStopped) pollPreview(state.modal.id);
    });
    window.addEventListener('online', reconnectNow);
    window.addEventListener('offline', probeSocket);
    window.addEventListener('pageshow', (e) => { if (e.persisted) reconnectNow(); });
    window.addEventListener('focus', () => { if (!socket.ws) reconnectNow(); });
  }

  function start() {
    showLoginOrigin();
    bindEvents();
    render();
    setInterval(refreshAges, AGE_REFRESH_MS);
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
