#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian/Ubuntu machine, only when missing:
#   ensure-deps.sh demo   -> redis-server, node_modules
#   ensure-deps.sh test   -> redis-server, redis-sentinel, openssh-server, node_modules, and Valkey
#                            in .cache/valkey/ (scripts/ensure-valkey.sh; its tests are skipped without it)
set -euo pipefail
cd "$(dirname "$0")/.."

want=(redis-server)
[[ "${1:-demo}" == "test" ]] && want+=(redis-sentinel openssh-server)
declare -A binary=([redis-server]=redis-server [redis-sentinel]=redis-sentinel [openssh-server]=sshd)

missing=()
for package in "${want[@]}"; do
  command -v "${binary[$package]}" >/dev/null 2>&1 || [[ -x "/usr/sbin/${binary[$package]}" ]] || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installing ${missing[*]} (apt-get)..." >&2
  if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "error: ${missing[*]} missing and neither root nor sudo is available; install them and retry." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged services; the demo and tests run their own instances instead.
  "${sudo[@]}" service redis-server stop >/dev/null 2>&1 || true
fi

[[ "${1:-demo}" == "test" ]] && bash scripts/ensure-valkey.sh

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "Installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
# dist/ (the bins and the packed tarball run it) is built here, not by npm ci; rebuilt when a
# source file is newer, so the installed-binary tests never run yesterday's code.
if [[ ! -f dist/.tsbuildinfo ]] ||
  [[ -n $(find src tsconfig.json tsconfig.build.json package.json -newer dist/.tsbuildinfo -print -quit) ]]; then
  echo "Building dist/ (npm run build)..." >&2
  npm run build --silent >&2
  # tsc leaves .tsbuildinfo untouched when no output changed: mark the build as checked.
  touch dist/.tsbuildinfo
fi
