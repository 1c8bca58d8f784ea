/* The "Devices" panel: the signed-in browsers and paired devices (`piko pair`), each with a Revoke button.
 * A browser session may list them and revoke one (it only ever takes access away); pairing a new device,
 * revoking all and rotating the token stay with the token (the piko command). */

import { api, describeFailure } from './api.js';
import { $, el } from './dom.js';
import { listen, state } from './state.js';

const DEVICES = '/api/auth/devices';

function label(d) {
  return d.name || d.user_agent || 'unknown browser';
}

function row(d) {
  const revoke = el('button', {
    className: 'tool-button revoke-device',
    attrs: { type: 'button', 'aria-label': `Revoke ${label(d)}` },
    on: { click: () => revokeDevice(d.id) },
  }, 'Revoke');
  const what = d.kind === 'device' ? 'paired device' : 'browser';
  return el('li', { className: 'device-row', dataset: { id: d.id, kind: d.kind } },
    el('span', { className: 'device-name', text: label(d) }),
    el('span', { className: 'device-meta' },
      `${what}${d.current ? ' (this one)' : ''}, last used ${d.last_seen_at}`),
    revoke);
}

async function refresh() {
  const list = $('device-list');
  const status = $('devices-status');
  const result = await api('GET', DEVICES);
  if (!result.ok) {
    status.textContent = describeFailure(result).text;
    return;
  }
  const devices = Array.isArray(result.data && result.data.devices) ? result.data.devices : [];
  list.replaceChildren(...devices.map(row));
  status.textContent = devices.length ? '' : 'No device is paired and no browser is signed in.';
}

async function revokeDevice(id) {
  const result = await api('DELETE', `${DEVICES}/${encodeURIComponent(id)}`);
  if (!result.ok && result.status !== 401) {
    $('devices-status').textContent = describeFailure(result).text;
    return;
  }
  if (result.ok) await refresh();
}

export function openDevices() {
  const dialog = $('devices');
  $('device-list').replaceChildren();
  $('devices-status').textContent = 'Loading…';
  if (!dialog.open) dialog.showModal();
  refresh();
}

export function bindDevices() {
  const dialog = $('devices');
  listen('render', () => { $('devices-button').hidden = state.authFailed; });
  listen('signedout', () => { if (dialog.open) dialog.close(); });
  $('devices-button').addEventListener('click', openDevices);
  $('devices-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
}
