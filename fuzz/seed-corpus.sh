#!/usr/bin/env bash
# Builds the seed corpus of every fuzz target from fixtures/ and rules/
# into fuzz/corpus/TARGET/ (not committed). Each seed is a fixture file
# prefixed with the selector byte the target reads first (see
# src/fuzzing.rs). Run from anywhere; re-running replaces the corpus.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/fuzz/corpus"
rm -rf "$corpus"
mkdir -p "$corpus"/{csv_loader,json_loader,export_detect,rule_parser}

# Table order of src/snapshot/model.rs `TABLES`.
tables=(tenants relationships principals memberships role_assignments
        subscriptions devices autopilot_profiles invitations gdap_access_assignments)
table_index() {
  local i
  for i in "${!tables[@]}"; do
    [[ "${tables[$i]}" == "$1" ]] && { echo "$i"; return; }
  done
  echo 0
}
n=0
seed() { # seed TARGET SELECTOR FILE
  n=$((n + 1))
  { printf "\\x$(printf %02x "$2")"; cat "$3"; } > "$corpus/$1/seed-$n"
}

cd "$root"
while IFS= read -r -d '' f; do
  stem="$(basename "$f")"; stem="${stem%.*}"
  seed csv_loader "$(table_index "$stem")" "$f"
done < <(find fixtures -name '*.csv' -not -path 'fixtures/exports/*' -print0 | sort -z)

while IFS= read -r -d '' f; do
  name="$(basename "$f")"; stem="${name%.*}"
  case "$f" in
    *.jsonl) seed json_loader $(( $(table_index "$stem") * 4 + 1 )) "$f" ;;
    */manifest.json) seed json_loader 2 "$f" ;;
    fixtures/rules/*) seed json_loader 3 "$f" ;;
    *) seed json_loader $(( $(table_index "$stem") * 4 )) "$f" ;;
  esac
done < <(find fixtures -name '*.json*' -not -path 'fixtures/exports/*' -print0 | sort -z)

# Export files: the selector picks a name of `EXPORT_NAMES` like the fixture's.
while IFS= read -r -d '' f; do
  lower="$(echo "$f" | tr '[:upper:]' '[:lower:]')"
  case "$lower" in
    *directoryroles/*members*|*role-members*) s=5 ;;
    *members.page2*) s=3 ;;
    *members*) s=2 ;;
    *directoryroles*) s=4 ;;
    *roledefinitions*) s=15 ;;
    *roleassignments*|*role-assignments*) s=6 ;;
    *subscriptions*|*account*) s=7 ;;
    *accessassignments*) s=9 ;;
    *delegatedadminrelationships*|*gdap*) s=8 ;;
    *contracts*) s=10 ;;
    *customers*) s=11 ;;
    *.csv) s=12 ;;
    *organization*) s=14 ;;
    *groups*) s=1 ;;
    *) s=0 ;;
  esac
  seed export_detect "$s" "$f"
done < <(find fixtures/exports -type f \( -name '*.json' -o -name '*.csv' -o -name '*.jsonl' \) -not -name manifest.json -print0 | sort -z)

for f in rules/*.toml; do
  n=$((n + 1)); cp "$f" "$corpus/rule_parser/seed-$n"
done
for t in csv_loader json_loader export_detect rule_parser; do
  echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
