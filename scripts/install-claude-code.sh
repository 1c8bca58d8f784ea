#!/usr/bin/env bash
# Install the real Claude Code CLI into a cache folder outside the repo.
#
#   CLAUDE_CODE_VERSION  version to install (default 2.1.328); `latest` is the newest on npm
#   PIKO_CACHE_DIR       cache root (default $HOME/.cache/piko)
#
# Idempotent: skips npm when the cached binary already answers --version.
# The last line printed is the absolute path of the claude binary.
# With --resolve it only prints the version it would install (`latest` resolved), and installs nothing.
set -euo pipefail

version="${CLAUDE_CODE_VERSION:-2.1.328}"
if [ "$version" = latest ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm not found on PATH (needed to resolve latest)" >&2; exit 1; }
  version="$(npm view @anthropic-ai/claude-code version)"
  case "$version" in
    [0-9]*.[0-9]*.[0-9]*) echo "the latest Claude Code on npm is ${version}" >&2 ;;
    *) echo "npm gave no version for @anthropic-ai/claude-code: '${version}'" >&2; exit 1 ;;
  esac
fi
if [ "${1:-}" = --resolve ]; then
  echo "$version"
  exit 0
fi
cache_root="${PIKO_CACHE_DIR:-$HOME/.cache/piko}"
dir="${cache_root}/claude-code/${version}"
bin="${dir}/node_modules/.bin/claude"

works() {
  [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1
}

if works; then
  echo "claude-code ${version} already installed in ${dir}" >&2
else
  command -v npm >/dev/null 2>&1 || { echo "npm not found on PATH" >&2; exit 1; }
  mkdir -p "$dir"
  echo "installing @anthropic-ai/claude-code@${version} into ${dir} ..." >&2
  npm install --no-audit --no-fund --prefix "$dir" "@anthropic-ai/claude-code@${version}" >&2
  if ! works; then
    echo "installed, but '${bin} --version' fails:" >&2
    "$bin" --version >&2 || true
    exit 1
  fi
fi

echo "$("$bin" --version 2>/dev/null | head -n1)" >&2
echo "$bin"
