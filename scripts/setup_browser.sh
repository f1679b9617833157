#!/usr/bin/env bash
# The browser tests (tests/browser) drive the Debian Chromium through Playwright and need CJK fonts
# to render Chinese. Install both when missing (root + apt), else say what to install.
# Never fatal: without Chromium the browser tests skip (and fail under CI=true).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fonts=$(dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null || true)
[ "$fonts" = "install ok installed" ] || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  if apt-get update -q >"$log" 2>&1 && \
     DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    exit 0
  fi
  cat "$log" >&2
  echo "warning: could not install ${missing[*]} with apt-get; the browser tests may skip." >&2
else
  echo "warning: the browser tests need: ${missing[*]} (Debian: sudo apt-get install chromium fonts-noto-cjk)" >&2
fi
