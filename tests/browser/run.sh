#!/usr/bin/env bash
# The browser suite: orderd's pages in Debian's headless Chromium, driven by
# playwright-core (tests/browser/run.mjs). Run by `make check` (./stack test,
# ./stack check) with ORDERD_URL, ORDERD_ADMIN_TOKEN, ORDERD_TEST_OUT,
# ORDERD_BIN and the ORDERD_DB_* settings exported; speaks TAP. Without
# ORDERD_URL it is skipped.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

if [[ -z ${ORDERD_URL:-} ]]; then
    echo '1..0 # SKIP no running stack (ORDERD_URL unset)'
    exit 0
fi

fail() { # why
    printf 'Bail out! browser setup: %s\n' "$1"
    exit 1
}

command -v node >/dev/null || fail "node is not installed"
command -v npm >/dev/null || fail "npm is not installed"
[[ -x ${ORDERD_CHROMIUM:-/usr/bin/chromium} ]] ||
    fail "${ORDERD_CHROMIUM:-/usr/bin/chromium} is missing (apt-get install chromium)"

# playwright-core and axe-core (the accessibility checks), exactly as
# package-lock.json pins them. It downloads no browser: the tests launch
# Debian's chromium.
stale=
for pkg in playwright-core axe-core; do
    want=$(cd "$HERE" && node -p "require('./package-lock.json').packages['node_modules/$pkg'].version")
    have=$(cd "$HERE" && node -p "require('./node_modules/$pkg/package.json').version" 2>/dev/null || true)
    [[ $have == "$want" ]] || stale=1
done
if [[ -n $stale ]]; then
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
        fail "npm ci failed in tests/browser"
fi

exec node "$HERE/run.mjs"
