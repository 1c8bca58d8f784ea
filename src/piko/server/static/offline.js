/* The offline page (the service worker shows it when piko server cannot be reached): try again on a click,
 * and by itself when the network comes back. */

function retry() {
  window.location.replace('/');
}

document.getElementById('retry').addEventListener('click', retry);
window.addEventListener('online', retry);
