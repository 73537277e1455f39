#!/usr/bin/env bash
# npm run bench: builds what the benchmark runs (the compiled bot), then measures.
# BENCH_QUICK=1 shrinks the data to finish in about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
if ! command -v redis-sentinel >/dev/null; then
  echo "Installing redis-sentinel (apt-get)..." >&2
  sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends redis-sentinel >/dev/null
  "${sudo[@]}" service redis-sentinel stop >/dev/null 2>&1 || true
fi
npm run build --silent
exec node --import tsx bench/main.ts
