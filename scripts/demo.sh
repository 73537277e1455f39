#!/usr/bin/env bash
# npm run demo: a replace failover on a local A/B/C sandbox, no SSH server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh demo
exec node_modules/.bin/tsx src/demo/main.ts
