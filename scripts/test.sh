#!/usr/bin/env bash
# npm test: type-check, then every test against real redis-server and sshd processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
node_modules/.bin/tsc --noEmit -p .
exec node_modules/.bin/vitest run "$@"
