#!/usr/bin/env bash
# Packs .gpu/ for a GPU check of the engine (models/gpu/gpu-check.sh): ../shared/tools/gpu-pack --prod,
# then keeps in node_modules only what `tessera render` / `tessera bench` load (onnxruntime-node,
# sharp, pino, zod, tsx and their dependencies, from package-lock.json). The bot's packages
# (discord.js, NATS …) are left out: the device tool carries the working tree and .gpu in 64 MiB.
#
#   models/gpu/pack-engine.sh        then: run(command="source .gpu/activate && …", carry=[".gpu", …])
set -euo pipefail
top=$(git rev-parse --show-toplevel)
cd "$top"
pack=${GPU_PACK:-$top/../shared/tools/gpu-pack}
[ -x "$pack" ] || { echo "pack-engine: $pack is missing (it comes with ../shared)" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$pack" --prod | grep -v '^gpu-pack: too large' || true
# node without its debug symbols: the same binary, 2 MiB less to carry
strip -o "$stage/node" "$(readlink -f "$(command -v node)")" && "$stage/node" --version >/dev/null \
  && xz -T0 -6 -c "$stage/node" > .gpu/node.xz && rm "$stage/node"

tar -C "$stage" -xJf .gpu/node_modules.tar.xz
# the dependency closure of the engine's packages, read from the lock file
node - "$stage/node_modules" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')).packages;
// the CLI loads shared/src/index.ts, which loads the NATS client and prom-client too
const roots = ['onnxruntime-node', 'sharp', 'pino', 'zod', 'tsx', 'prom-client', ...Object.keys(JSON.parse(fs.readFileSync('package.json', 'utf8')).dependencies).filter((d) => d.startsWith('@nats-io/'))];
const keep = new Set();
// npm's resolution: look for node_modules/<dep> next to the dependant, then in each parent
function resolve(from, dep) {
  for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
    const key = `${base ? `${base}/` : ''}node_modules/${dep}`;
    if (lock[key]) return key;
    if (!base) return undefined;
  }
}
const todo = roots.map((r) => `node_modules/${r}`);
while (todo.length) {
  const key = todo.pop();
  if (keep.has(key) || !lock[key]) continue;
  keep.add(key);
  const p = lock[key];
  for (const dep of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) {
    const found = resolve(key, dep);
    if (found) todo.push(found);
  }
}
const top = new Set([...keep].map((k) => k.split('/node_modules/')[0].replace(/^node_modules\//, '')));
let removed = 0;
for (const name of fs.readdirSync(dir)) {
  const entries = name.startsWith('@') ? fs.readdirSync(path.join(dir, name)).map((n) => `${name}/${n}`) : [name];
  for (const e of entries) {
    if (e.startsWith('.') || top.has(e)) continue;
    fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    removed++;
  }
  if (name.startsWith('@') && fs.readdirSync(path.join(dir, name)).length === 0) fs.rmdirSync(path.join(dir, name));
}
console.log(`pack-engine: kept ${top.size} packages (${roots.join(', ')} and their dependencies), left out ${removed}`);
JS
tar -C "$stage" -cf - node_modules | xz -T0 -6 > .gpu/node_modules.tar.xz
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
gpu=$(du -sb .gpu | cut -f1)
echo "pack-engine: .gpu $((gpu / 1048576)) MiB + working tree $((tree / 1048576)) MiB (limit 64 MiB with what else is carried)"
