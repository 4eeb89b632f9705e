#!/usr/bin/env bash
# Prints the path of a nats-server >= 2.9.21 for the cluster tests (deploy/nats/CLUSTER.md, "Which
# nats-server": 2.9.10 lets a stream's replicas drift apart). In order:
#   1. $TESSERA_CLUSTER_NATS_SERVER when set (checked, never replaced);
#   2. the nats-server on PATH when it is new enough;
#   3. a cached copy under .cache/nats-server/<version>/nats-server, fetched when absent from Debian
#      trixie's archive: InRelease (signature checked with gpgv and the Debian archive keyring when
#      gpgv is there), Packages.xz (sha256 checked against InRelease), the .deb (sha256 from
#      Packages.xz), the binary taken out with dpkg-deb (or ar + tar).
# Everything but the path goes to stderr; exit 1 with a reason when no suitable server can be had.
set -euo pipefail
cd "$(dirname "$0")/../.."

MIN_VERSION=2.9.21
MIRROR=${TESSERA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

fail() { echo "cluster-nats-server: $*" >&2; exit 1; }

# The version `nats-server --version` prints ("nats-server: v2.10.27"), or nothing.
server_version() { "$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n1; }

new_enough() {
  local v=$1
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -n1)" = "$MIN_VERSION" ]
}

if [ -n "${TESSERA_CLUSTER_NATS_SERVER:-}" ]; then
  v=$(server_version "$TESSERA_CLUSTER_NATS_SERVER")
  new_enough "$v" || fail "TESSERA_CLUSTER_NATS_SERVER=$TESSERA_CLUSTER_NATS_SERVER is version '${v:-unknown}', need >= $MIN_VERSION"
  echo "$TESSERA_CLUSTER_NATS_SERVER"
  exit 0
fi

if on_path=$(command -v nats-server 2>/dev/null); then
  v=$(server_version "$on_path")
  if new_enough "$v"; then echo "$on_path"; exit 0; fi
  echo "cluster-nats-server: $on_path is ${v:-of unknown version}, older than $MIN_VERSION; using Debian $SUITE's" >&2
fi

for cached in .cache/nats-server/*/nats-server; do
  [ -x "$cached" ] || continue
  if new_enough "$(server_version "$cached")"; then echo "$PWD/$cached"; exit 0; fi
done

# curl and xz from Debian's packages when missing (as setup.sh does for nats-server), where we may.
if ! command -v curl >/dev/null || ! command -v xz >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "cluster-nats-server: installing curl and xz-utils from Debian's packages…" >&2
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl xz-utils >&2 || true
  fi
fi
for tool in curl xz sha256sum; do command -v "$tool" >/dev/null || fail "needs $tool to fetch nats-server from Debian $SUITE"; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
get() { curl -fsSL --retry 3 -o "$2" "$1" || fail "cannot download $1"; }

get "$MIRROR/dists/$SUITE/InRelease" "$work/InRelease"
if command -v gpgv >/dev/null && [ -f "$KEYRING" ]; then
  gpgv --keyring "$KEYRING" "$work/InRelease" 2>"$work/gpgv.log" \
    || { cat "$work/gpgv.log" >&2; fail "the signature of $SUITE's InRelease does not verify"; }
  echo "cluster-nats-server: InRelease signature good ($KEYRING)" >&2
else
  echo "cluster-nats-server: gpgv or $KEYRING missing: InRelease signature NOT checked" >&2
fi
# The SHA256 section of InRelease: " <hash> <size> main/binary-amd64/Packages.xz".
index_sha=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$work/InRelease")
[ -n "$index_sha" ] || fail "InRelease lists no main/binary-amd64/Packages.xz"
get "$MIRROR/dists/$SUITE/main/binary-amd64/Packages.xz" "$work/Packages.xz"
echo "$index_sha  $work/Packages.xz" | sha256sum -c --quiet - >&2 || fail "Packages.xz does not match InRelease's sha256"

# The nats-server stanza's Version, Filename and SHA256.
read -r version filename deb_sha < <(xz -dc "$work/Packages.xz" | awk '
  /^Package: / { p = ($2 == "nats-server") }
  p && /^Version: / { v = $2 } p && /^Filename: / { f = $2 } p && /^SHA256: / { s = $2 }
  /^$/ && p { print v, f, s; exit }')
[ -n "${filename:-}" ] && [ -n "${deb_sha:-}" ] || fail "no nats-server in $SUITE's Packages.xz"
get "$MIRROR/$filename" "$work/nats-server.deb"
echo "$deb_sha  $work/nats-server.deb" | sha256sum -c --quiet - >&2 || fail "$filename does not match its sha256 in Packages.xz"

mkdir -p "$work/x"
if command -v dpkg-deb >/dev/null; then
  dpkg-deb -x "$work/nats-server.deb" "$work/x"
else
  (cd "$work" && ar x nats-server.deb && tar -xf data.tar.* -C x)
fi
binary="$work/x/usr/sbin/nats-server"
[ -x "$binary" ] || binary="$work/x/usr/bin/nats-server"
[ -x "$binary" ] || fail "$filename holds no usr/sbin/nats-server or usr/bin/nats-server"
v=$(server_version "$binary")
new_enough "$v" || fail "$SUITE's nats-server ($filename) says version '${v:-unknown}', need >= $MIN_VERSION"
dest=".cache/nats-server/$version"
mkdir -p "$dest"
install -m 0755 "$binary" "$dest/nats-server"
echo "cluster-nats-server: nats-server $v from $filename cached in $dest" >&2
echo "$PWD/$dest/nats-server"
