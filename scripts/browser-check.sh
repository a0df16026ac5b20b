#!/usr/bin/env bash
# Renders the demo's HTML review report (and the hostile fixture's) in
# headless Chromium, fails on any console error, uncaught exception, error
# log entry, network request or <script> element, and saves screenshots
# into target/browser-check/. Installs Debian's chromium (and node) when
# missing; needs no other download.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "browser-check: $1 is missing and this is not root: install it (apt-get install -y $1)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}
[ -x "$CHROMIUM" ] || install chromium
command -v node >/dev/null 2>&1 || install nodejs

out=target/browser-check
rm -rf "$out"
mkdir -p "$out"
cargo build --quiet --locked
bin=target/debug/partner-audit

# Self-test: a page with a console error must fail the check.
printf '<!DOCTYPE html><title>x</title><script>console.error("expected")</script>' >"$out/self-test.html"
node scripts/browser-check.mjs "$CHROMIUM" "$out/self-test.html" "$out/self-test.png" --expect-errors

for snap in fixtures/demo fixtures/report/hostile.json; do
  name=$(basename "$snap" .json)
  "$bin" audit "$snap" --out "$out/$name" --format html --fail-on never >/dev/null 2>&1
  node scripts/browser-check.mjs "$CHROMIUM" "$out/$name/report.html" "$out/$name.png"
done
echo "browser-check: ok (screenshots in $out)"
