#!/usr/bin/env bash
# Prints the five NATS role Secrets (admin, bot, renderer, operator, scheduler) with fresh nkeys, as YAML for
#   deploy/k8s/make-secrets.sh | kubectl apply -n tessera -f -
# Each Secret holds the role's seed (`<role>.nk`) and public key (`<role>.pub`). Run from a
# checkout with node_modules (uses @nats-io/nkeys). The Discord Secret you make yourself:
#   kubectl -n tessera create secret generic tessera-discord \
#     --from-literal=DISCORD_TOKEN=… --from-literal=DISCORD_APP_ID=…
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
node --input-type=module -e '
import { createUser } from "@nats-io/nkeys";
for (const role of ["admin", "bot", "renderer", "operator", "scheduler"]) {
  const kp = createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  process.stdout.write(
    `---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tessera-nats-${role}\ntype: Opaque\n` +
      `stringData:\n  ${role}.nk: ${seed}\n  ${role}.pub: ${kp.getPublicKey()}\n`,
  );
}
'
