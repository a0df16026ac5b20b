#!/usr/bin/env bash
# Renders the HTML review in headless Chromium: the demo's and the hostile
# fixture's pages (overview, a customer page, the customer list), then the
# overview of a generated snapshot of BROWSER_CHECK_CUSTOMERS customers
# (default 10,000), which must load within 3 s, and one of its customer
# pages. Fails on any console error, uncaught exception, error log entry,
# network request, foreign <script>, script that did not run, finding whose
# content would not print or diagram label that leaves its box, and opens
# the pages once more with scripts disabled, where every section must be
# open (see browser-check.mjs); prints the load times and saves screenshots (and
# PDFs of pages with findings) into target/browser-check/. Installs
# Debian's chromium (and node) when missing; needs no other download.
#
# The generated audit runs the debug binary that `cargo test` already
# built: at 10,000 customers it costs about a minute of CPU, less than
# building a release binary would on CI's two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
CUSTOMERS="${BROWSER_CHECK_CUSTOMERS:-10000}"
MAX_MS="${BROWSER_CHECK_MAX_MS:-3000}"
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
check() { node scripts/browser-check.mjs "$CHROMIUM" "$@"; }

# Self-test: a page with a console error must fail the check.
printf '<!DOCTYPE html><title>x</title><script>console.error("expected")</script>' >"$out/self-test.html"
check "$out/self-test.html" "$out/self-test.png" --expect-errors

# The customer page with the most severe findings: the overview's first row.
first_customer() {
  grep -o 'href="html/customers/[0-9a-f-]*\.html"' "$1/report.html" | head -n 1 | cut -d'"' -f2
}

for snap in fixtures/demo fixtures/report/hostile.json; do
  name=$(basename "$snap" .json)
  "$bin" audit "$snap" --out "$out/$name" --format html --fail-on never >/dev/null 2>&1
  check "$out/$name/report.html" "$out/$name.png" --max-ms "$MAX_MS"
  check "$out/$name/$(first_customer "$out/$name")" "$out/$name-customer.png"
  # Without the script: everything shown, no control that would do nothing.
  check "$out/$name/report.html" "$out/$name-noscript.png" --no-script
  check "$out/$name/$(first_customer "$out/$name")" "$out/$name-customer-noscript.png" --no-script
  check "$out/$name/html/customers-1.html" "$out/$name-customers.png"
done

gen="$out/generated-$CUSTOMERS"
"$bin" generate --customers "$CUSTOMERS" "$gen/snapshot" >/dev/null
started=$(date +%s)
"$bin" audit "$gen/snapshot" --out "$gen/out" --format html --fail-on never >/dev/null 2>&1
echo "browser-check: audit of $CUSTOMERS generated customers (debug build, --format html): $(($(date +%s) - started)) s, report.html $(wc -c <"$gen/out/report.html") bytes, html/ $(du -sk "$gen/out/html" | cut -f1) KiB"
check "$gen/out/report.html" "$out/generated-overview.png" --max-ms "$MAX_MS"
check "$gen/out/$(first_customer "$gen/out")" "$out/generated-customer.png"
# The generated snapshot and pages take about 1.5 GB at 10,000 customers.
rm -rf "$gen"
echo "browser-check: ok (screenshots in $out)"
