#!/usr/bin/env bash
# The clinician web page's checks, one command (CI runs it from .ci/run):
#   1. npm ci (exact versions from package-lock.json), type check (tsc --noEmit), unit tests (test/unit.mjs);
#   2. web/dist equals a fresh build of web/src (the bundle ecgedge embeds is the reviewed source);
#   3. the browser end-to-end tests, screenshots into a temporary folder unless --screenshots DIR:
#      test/e2e-demo.mjs: the README's demo with nothing else installed (the worker's embedded broker, MQTT over
#      WebSockets, `ecgedge watch --web` as the worker says, two pages: active episode and ack for a page opened later);
#      test/e2e.mjs: headless Chromium, mosquitto with WebSockets, the worker replaying MIT-BIH 201, ecgedge watch --web;
#      then test/e2e-auth.mjs: the page against wss:// with a password file and ecgedge-web.acl (its own exit 77 —
#      no mosquitto_passwd or openssl — does not fail the run);
#   4. the load test with --alerts N (default 2000 here; 10000 for the figures in docs/web.md).
# Exit 0 passed, 1 failed, 77 skipped (no node/npm; or no Chromium, after steps 1-2).
#   web/run-e2e.sh [--screenshots DIR] [--alerts N]
set -euo pipefail
cd "$(dirname "$0")"
shots="" alerts=2000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --screenshots) shots="$2"; shift 2 ;;
    --alerts) alerts="$2"; shift 2 ;;
    *) echo "run-e2e.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then echo "web: node/npm not installed; skipped"; exit 77; fi

npm ci --no-audit --no-fund --loglevel=error
node_modules/.bin/tsc --noEmit -p .
node test/unit.mjs > /dev/null || node test/unit.mjs
node build.mjs --check
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$chromium" ]]; then echo "web: Chromium not installed; browser tests skipped"; exit 77; fi
export CHROMIUM="$chromium"
tmp=""
if [[ -z "$shots" ]]; then tmp="$(mktemp -d)"; shots="$tmp"; fi
status=0
node test/e2e-demo.mjs --screenshots "$shots" || status=$?
if [[ "$status" = 0 ]]; then node test/e2e.mjs --screenshots "$shots" || status=$?; fi
if [[ "$status" = 0 ]]; then node test/e2e-auth.mjs --screenshots "$shots" || { s=$?; [[ "$s" = 77 ]] || status=$s; }; fi
if [[ "$status" = 0 ]]; then node test/perf.mjs --alerts "$alerts" --screenshot "$shots/web-load.png" || status=$?; fi
[[ -n "$tmp" ]] && rm -rf "$tmp"
exit "$status"
