#!/usr/bin/env bash
# Set-up, then the demo: the article's configs resolved by dom0's xl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/bin:$PATH"
for f in examples/article/*.cfg; do
  [ -e "$f" ] || continue
  echo "== xl -N create $f"
  xl -N create "$f" || true
done
