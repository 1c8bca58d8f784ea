/* Piko Orchestra's service worker (served at /sw.js, scope /): the installable app's offline shell, and Web
 * Push notifications whose Allow / Deny actions answer with this device's own session.
 *
 * - The shell (pages, modules, styles, icons) is fetched from the network first and kept for offline use;
 *   a page that cannot be fetched gets the offline page. The API (/api/) is never cached or intercepted.
 * - A push of type "request" shows a notification tagged piko-<id>; a push of type "resolved" with the same
 *   tag closes it (answered somewhere else).
 * - Allow / Deny POST /api/orchestra/respond with the credential session.js copied to IndexedDB
 *   (credstore.js): a service worker cannot read localStorage. Open (or a click on the body) opens the inbox.
 * - Message API: {type: "action", tag, action} from a page of this origin carries out a shown notification's
 *   action exactly as a click would, and answers {ok, status} on the message's port.
 */

const CACHE = 'piko-shell-v1';
const OFFLINE = '/static/offline.html';
const SHELL = ['/', OFFLINE, '/static/offline.js', '/static/style.css', '/static/page.css', '/static/dialogs.css',
  '/static/pwa.css', '/static/app.js', '/manifest.webmanifest', '/static/icons/icon-192.png',
  '/static/icons/icon-512.png'];
const DB_NAME = 'piko-orchestra'; // credstore.js
const ACTIONS = {
  allow: { action: 'allow', title: 'Allow' },
  deny: { action: 'deny', title: 'Deny' },
  open: { action: 'open', title: 'Open' },
};

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  event.respondWith(networkFirst(req));
});

async function networkFirst(req) {
  try {
    const res = await fetch(req);
    if (res.ok && res.type === 'basic') {
      const copy = res.clone();
      caches.open(CACHE).then((cache) => cache.put(req, copy)).catch(() => {});
    }
    return res;
  } catch (err) {
    const cached = await caches.match(req, { ignoreSearch: req.mode === 'navigate' });
    if (cached && req.mode !== 'navigate') return cached;
    if (req.mode === 'navigate') return (await caches.match(OFFLINE)) || Response.error();
    throw err;
  }
}

// ---- push -------------------------------------------------------------------------------------------

self.addEventListener('push', (event) => {
  let msg = null;
  try { msg = event.data ? event.data.json() : null; } catch (_) { msg = null; }
  event.waitUntil(onPush(msg));
});

async function onPush(msg) {
  if (!msg || typeof msg.tag !== 'string') return;
  if (msg.type === 'resolved') {
    for (const note of await self.registration.getNotifications({ tag: msg.tag })) note.close();
    return;
  }
  if (msg.type !== 'request') return;
  const max = (self.Notification && Notification.maxActions) || 2;
  const actions = (Array.isArray(msg.actions) ? msg.actions : []).map((a) => ACTIONS[a]).filter(Boolean);
  await self.registration.showNotification(String(msg.title || 'Claude needs you'), {
    body: String(msg.body || ''),
    tag: msg.tag,
    data: { id: String(msg.id || ''), url: '/' },
    actions: actions.slice(0, max),
    icon: '/static/icons/icon-192.png',
    badge: '/static/icons/icon-192.png',
    requireInteraction: true,
  });
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(act(event.notification, event.action));
});

/** Carry out `action` ('allow', 'deny', else open) of `note`; {ok, status}. A decision that fails opens the
 * inbox, so the person can answer there. */
async function act(note, action) {
  const id = note.data && note.data.id;
  if (id && (action === 'allow' || action === 'deny')) {
    const result = await decide(id, action);
    if (result.ok) return result;
    await openInbox();
    return result;
  }
  await openInbox();
  return { ok: true, status: 0 };
}

async function decide(id, decision) {
  const credential = await readCredential();
  if (!credential) return { ok: false, status: 401 };
  try {
    const res = await fetch('/api/orchestra/respond', {
      method: 'POST',
      credentials: 'omit',
      cache: 'no-store',
      headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ notification_id: id, decision }),
    });
    return { ok: res.ok, status: res.status };
  } catch (_) {
    return { ok: false, status: 0 };
  }
}

function readCredential() {
  return new Promise((resolve) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('session');
    open.onerror = () => resolve('');
    open.onsuccess = () => {
      const db = open.result;
      try {
        const get = db.transaction('session').objectStore('session').get('credential');
        get.onsuccess = () => { db.close(); resolve(typeof get.result === 'string' ? get.result : ''); };
        get.onerror = () => { db.close(); resolve(''); };
      } catch (_) {
        db.close();
        resolve('');
      }
    };
  });
}

async function openInbox() {
  try {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).origin === self.location.origin && 'focus' in client) return await client.focus();
    }
    return await self.clients.openWindow('/');
  } catch (_) {
    return null; // not allowed without a click (the message API): nothing to open
  }
}

self.addEventListener('message', (event) => {
  const msg = event.data;
  const port = event.ports && event.ports[0];
  if (!msg || msg.type !== 'action' || typeof msg.tag !== 'string' || !port) return;
  event.waitUntil((async () => {
    const [note] = await self.registration.getNotifications({ tag: msg.tag });
    if (!note) {
      port.postMessage({ ok: false, status: 404 });
      return;
    }
    note.close();
    port.postMessage(await act(note, msg.action));
  })());
});
