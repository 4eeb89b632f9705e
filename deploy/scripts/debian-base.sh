#!/usr/bin/env bash
# Make a local Debian trixie base image (localhost/debian:trixie-slim) for machines that cannot
# pull from Docker Hub. trixie ships nodejs 20 and nats-server 2.10, so the tessera image builds
# on it with Debian packages only. Needs root, debootstrap, a Debian mirror and podman (or docker).
#
#   sudo deploy/scripts/debian-base.sh                     # ~4 minutes
#   MIRROR=http://deb.debian.org/debian TAG=localhost/debian:trixie-slim deploy/scripts/debian-base.sh
set -euo pipefail

SUITE="${SUITE:-trixie}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
TAG="${TAG:-localhost/debian:${SUITE}-slim}"
ENGINE="${ENGINE:-$(command -v podman || command -v docker || true)}"

if [[ -z "$ENGINE" ]]; then
  echo "debian-base: neither podman nor docker is installed" >&2
  exit 1
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "debian-base: debootstrap needs root" >&2
  exit 1
fi

ROOT="$(mktemp -d /tmp/debian-base.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT

echo "debian-base: debootstrap $SUITE from $MIRROR into $ROOT"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR"

# Slim it the way the official -slim images do: no apt lists, no docs, no man pages, no caches.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/var/log/*.log
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
CFG
cat >"$ROOT/etc/apt/apt.conf.d/slim" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
CFG

tar -C "$ROOT" -c . | "$ENGINE" import - "$TAG"
echo "debian-base: imported $TAG"
"$ENGINE" images "$TAG"
