#!/usr/bin/env bash
# Set-up, then the demo: the article's configs resolved by dom0's xl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/bin:$PATH"
# Each article config as Xen's `xl -N create` prints it: libxl's JSON on stdout, xl's messages
# (and ours: unknown keys with a did-you-mean) on stderr, shown in order.
for f in examples/article/*.cfg; do
  [ -e "$f" ] || continue
  echo "== xl -N create $f"
  xl -N create "$f" 2>&1 || echo "(exit status $?)"
done
