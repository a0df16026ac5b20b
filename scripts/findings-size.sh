#!/usr/bin/env bash
# Measures findings.json against its input on a generated snapshot: the
# CSV bytes `partner-audit generate` writes, findings.json in format_version
# 1 and 2, and the audit's wall time for each, with the ratios. Not run in
# CI: a release build and 10,000 customers take minutes.
#
#   scripts/findings-size.sh [CUSTOMERS] [SEED]     (default 10000 1)
#
# PARTNER_AUDIT=path/to/binary skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

customers="${1:-10000}"
seed="${2:-1}"
bin="${PARTNER_AUDIT:-target/release/partner-audit}"
if [ -z "${PARTNER_AUDIT:-}" ]; then
  cargo build --release --locked --quiet
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/findings-size.XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$bin" generate --customers "$customers" --seed "$seed" "$work/snap" >/dev/null
csv_bytes=$(cat "$work"/snap/*.csv | wc -c)

# Seconds (3 decimals) one audit takes, writing findings.json in layout $1.
audit() {
  local start end
  start=$(date +%s%N)
  "$bin" audit "$work/snap" --out "$work/$1" --findings-format "$1" --fail-on never --quiet \
    >/dev/null 2>&1
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 ))" | awk '{ printf "%.3f", $1 / 1000 }'
}
t1=$(audit v1)
t2=$(audit v2)
v1_bytes=$(wc -c <"$work/v1/findings.json")
v2_bytes=$(wc -c <"$work/v2/findings.json")
findings=$(grep -c '^    {"id":' "$work/v2/findings.json" || true)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf 'customers            %s (seed %s), %s findings\n' "$customers" "$seed" "$findings"
printf 'input CSV            %12d bytes\n' "$csv_bytes"
printf 'findings.json v1     %12d bytes  %s x input\n' "$v1_bytes" "$(ratio "$v1_bytes" "$csv_bytes")"
printf 'findings.json v2     %12d bytes  %s x input  %s x v1\n' "$v2_bytes" \
  "$(ratio "$v2_bytes" "$csv_bytes")" "$(ratio "$v2_bytes" "$v1_bytes")"
printf 'audit time v1        %12s s\n' "$t1"
printf 'audit time v2        %12s s  %s x v1\n' "$t2" "$(ratio "$t2" "$t1")"
if [ "$v2_bytes" -le "$csv_bytes" ]; then
  echo "target met: findings.json v2 is no larger than the input CSV"
else
  echo "target missed: findings.json v2 is larger than the input CSV"
  exit 1
fi
