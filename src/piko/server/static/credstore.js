/* A copy of this browser's session credential in IndexedDB, for the service worker (sw.js), which cannot
 * read localStorage: it answers a notification's Allow / Deny with this device's own credential.
 * Same origin only, like localStorage; removed on sign-out and when the server refuses it. */

export const DB_NAME = 'piko-orchestra';
const STORE = 'session';
const KEY = 'credential';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function change(write) {
  try {
    const db = await open();
    await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite');
      write(tx.objectStore(STORE));
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  } catch (_) { /* no IndexedDB (private mode): notification actions open the page instead */ }
}

/** Keep `credential` for the service worker. */
export function copyCredential(credential) {
  return change((store) => store.put(credential, KEY));
}

/** Remove the copy, if it is `used` (or whatever it is, without `used`). */
export async function dropCredential(used) {
  return change((store) => {
    const req = store.get(KEY);
    req.onsuccess = () => { if (!used || req.result === used) store.delete(KEY); };
  });
}
