#!/usr/bin/env bash
# The whole test gate: set-up, typecheck, lint, then every test (unit, golden, integration).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx eslint --no-error-on-unmatched-pattern src test bench
node scripts/run-tests.mjs "$@"
