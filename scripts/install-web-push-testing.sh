#!/usr/bin/env bash
# Install the npm package web-push-testing (a local Web Push service stand-in the tests push to) into a
# cache folder outside the repo.
#
#   WEB_PUSH_TESTING_VERSION  version to install (default 1.2.2)
#   PIKO_CACHE_DIR            cache root (default $HOME/.cache/piko)
#
# Idempotent. The last line printed is the absolute path of its command.
set -euo pipefail

version="${WEB_PUSH_TESTING_VERSION:-1.2.2}"
cache_root="${PIKO_CACHE_DIR:-$HOME/.cache/piko}"
dir="${cache_root}/web-push-testing/${version}"
bin="${dir}/node_modules/.bin/web-push-testing"

if [ -x "$bin" ]; then
  echo "web-push-testing ${version} already installed in ${dir}" >&2
else
  command -v npm >/dev/null 2>&1 || { echo "npm not found on PATH" >&2; exit 1; }
  mkdir -p "$dir"
  echo "installing web-push-testing@${version} into ${dir} ..." >&2
  npm install --no-audit --no-fund --prefix "$dir" "web-push-testing@${version}" >&2
  [ -x "$bin" ] || { echo "installed, but ${bin} is missing" >&2; exit 1; }
fi
echo "$bin"
