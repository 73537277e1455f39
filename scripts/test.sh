#!/usr/bin/env bash
# npm test: type-check and every test against real redis-server and sshd processes. The two run
# side by side (the tests mostly wait on processes, so the type-check's CPU time comes free);
# the exit code is non-zero if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
types_log=$(mktemp)
node_modules/.bin/tsc --noEmit -p . >"$types_log" 2>&1 &
types_pid=$!
# An interrupted run leaves no type-check behind.
# (set -e applies inside the trap too: nothing in it may fail, or it would replace the exit code.)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -f "$types_log"' EXIT
tests=0
node_modules/.bin/vitest run "$@" || tests=$?
types=0
wait "$types_pid" || types=$?
if ((types != 0)); then
  echo "tsc --noEmit -p . failed:" >&2
  cat "$types_log" >&2
fi
((tests != 0)) && exit "$tests"
exit "$types"
