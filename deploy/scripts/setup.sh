#!/usr/bin/env bash
# First-use set-up shared by `npm start`, `npm test` and `npm run bench`:
# npm dependencies when absent or stale, and nats-server from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "tessera setup: installing npm dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund >&2
fi

if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "tessera setup: installing nats-server from Debian's packages…" >&2
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nats-server >&2
  else
    echo "tessera setup: nats-server is not on PATH. Install it with: sudo apt-get install -y nats-server" >&2
    echo "  (or download a release from the NATS project and put it on PATH), then run this again." >&2
    exit 1
  fi
fi
