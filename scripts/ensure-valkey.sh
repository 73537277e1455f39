#!/usr/bin/env bash
# Fetches Valkey (a second server flavour for the tests) into .cache/valkey/, without installing it:
# Debian ships it in bookworm-backports, which is not in the machine's apt sources. apt-get reads a
# private sources list and keeps its lists and downloads under .cache/, so the machine's apt state
# is untouched and the packages never conflict with redis-server. Quick when already present.
#
# Never fails: when Valkey cannot be fetched or does not run, .cache/valkey/UNAVAILABLE says why,
# and the Valkey tests are skipped with that reason printed (test/harness/flavours.ts).
set -uo pipefail
cd "$(dirname "$0")/.."

dest=.cache/valkey
server="$dest/usr/bin/valkey-server"
reason_file="$dest/UNAVAILABLE"
[[ -x "$server" ]] && "$server" --version >/dev/null 2>&1 && exit 0

unavailable() {
  mkdir -p "$dest"
  printf '%s\n' "$*" >"$reason_file"
  echo "warning: Valkey is unavailable, its tests will be skipped: $*" >&2
  exit 0
}

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r "$keyring" ]] || unavailable "no Debian archive keyring ($keyring) to verify bookworm-backports"
command -v apt-get >/dev/null || unavailable "apt-get is not available"

echo "Fetching Valkey from Debian bookworm-backports into $dest (apt-get download)..." >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main" >"$work/sources.list"
apt=(apt-get -qq
  -o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Update::Error-Mode=any)
# The _apt sandbox user cannot write into a private temp dir.
[[ $(id -u) -eq 0 ]] && apt+=(-o APT::Sandbox::User=root)
log="$work/apt.log"
"${apt[@]}" update >"$log" 2>&1 ||
  unavailable "apt-get update of bookworm-backports failed: $(tail -n 3 "$log" | tr '\n' ' ')"
(cd "$work/debs" && "${apt[@]}" download valkey-server valkey-tools) >"$log" 2>&1 ||
  unavailable "apt-get download valkey-server valkey-tools failed: $(tail -n 3 "$log" | tr '\n' ' ')"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/root" || unavailable "cannot extract $deb"
done
version=$("$work/root/usr/bin/valkey-server" --version 2>&1) ||
  unavailable "the fetched valkey-server does not run here: $version"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$work/root" "$dest"
echo "Valkey ready: $version" >&2
