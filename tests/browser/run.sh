#!/usr/bin/env bash
# The console's browser tests (ctest browser.console): installs playwright-core from the npm
# registry exactly as package-lock.json pins it (no browser is downloaded: the tests drive
# Debian's /usr/bin/chromium, which scripts/setup installs), then runs them.
# Usage: run.sh JITBROKER_BIN
set -euo pipefail
cd "$(dirname "$0")"
export JITBROKER_BIN="${1:?usage: run.sh JITBROKER_BIN}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# Again only when the lockfile changed since the last install.
if ! cmp -s package-lock.json node_modules/.jitb-installed-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.jitb-installed-lock
fi
exec node --test --test-reporter=spec console.test.mjs
