/**
 * Renderer presence through the NATS services framework: `tessera farm` (or any `nats micro`
 * client) discovers renderers by `$SRV.PING/INFO/STATS.tessera-renderer`; each one's stats carry
 * a `RendererPresence`, and `rendererPresenceSubject(id)` answers with it directly.
 * https://github.com/nats-io/nats-architecture-and-design/blob/main/adr/ADR-32.md
 */
import { Svcm, type Service } from '@nats-io/services';
import {
  RendererPresence,
  encodeMessage,
  rendererPresenceSubject,
  rendererServiceName,
  type NatsConnection,
} from '../../../shared/src/index.js';

export interface PresenceSource {
  presence(): RendererPresence;
}

export async function startPresence(deps: {
  nc: NatsConnection;
  source: PresenceSource;
  version: string;
}): Promise<Service> {
  const first = deps.source.presence();
  // @nats-io/services 3.0.0-25 (the newest published) bundles its own, older nats-core typings;
  // the connection object is the same at runtime, only the declared types differ.
  const nc = deps.nc as unknown as ConstructorParameters<typeof Svcm>[0];
  const service = await new Svcm(nc).add({
    name: rendererServiceName(),
    version: deps.version,
    description: `tessera renderer ${first.id} (${first.model} on ${first.executionProvider})`,
    metadata: { id: first.id, model: first.model, executionProvider: first.executionProvider },
    statsHandler: async () => deps.source.presence(),
  });
  service.addEndpoint('presence', {
    subject: rendererPresenceSubject(first.id),
    handler: (err, msg) => {
      if (err) return;
      msg.respond(encodeMessage(RendererPresence, deps.source.presence()));
    },
  });
  return service;
}
