#!/usr/bin/env bash
# Runs every fuzz target of the module, one `go test -fuzz` per target (Go fuzzes one at a
# time), for FUZZTIME each (default 10s). Targets are found by their `func FuzzX(` lines,
# so a new target runs without editing this file. Seed corpora live in testdata/fuzz/FuzzX
# next to each package; a crasher found here is written there too: fix the bug and commit it.
set -euo pipefail

fuzztime="${1:-${FUZZTIME:-10s}}"
go="${GO:-go}"
cd "$(dirname "$0")/.."

mapfile -t found < <(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . | grep -v '^./e2e/' | sort)
if [ "${#found[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi
for line in "${found[@]}"; do
  file="${line%%:*}"
  name="${line##*func }"
  pkg="./$(dirname "${file#./}")"
  echo "fuzz: $name in $pkg for $fuzztime"
  "$go" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done
echo "fuzz: ${#found[@]} targets, $fuzztime each, no crasher"
