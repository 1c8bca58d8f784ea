/* The person's display preferences (sort order, grouping), remembered in this browser. */

const PREF_SORT = 'piko.orchestra.sort';
const PREF_GROUP = 'piko.orchestra.group';

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

/** 'newest' or 'oldest' first. */
export function savedSort() {
  return readPref(PREF_SORT, 'newest', ['newest', 'oldest']);
}

export function savedGroup() {
  return readPref(PREF_GROUP, 'no', ['yes', 'no']) === 'yes';
}

export function saveSort(sort) {
  writePref(PREF_SORT, sort);
}

export function saveGroup(group) {
  writePref(PREF_GROUP, group ? 'yes' : 'no');
}
