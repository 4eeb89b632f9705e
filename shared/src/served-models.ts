/**
 * Which models the farm serves right now, from the renderers' `@nats-io/services` announcements
 * (each renderer's service metadata names its model). `/imagine` and `tessera imagine` refuse a
 * model nobody serves at once, instead of queueing a job that would only wait until it expires.
 * https://github.com/nats-io/nats-architecture-and-design/blob/main/adr/ADR-32.md
 */
import { Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import { ModelName } from './contracts.js';
import type { Result } from './errors.js';
import { rendererServiceName } from './subjects.js';

/** Identifier of the refusal, for the bot's and the CLI's replies. */
export const MODEL_NOT_SERVED = 'model-not-served';

/** An expected refusal: a stable identifier and a sentence for the user. */
export interface ModelNotServed {
  identifier: typeof MODEL_NOT_SERVED;
  message: string;
  model: string;
  served: string[];
}

/**
 * The models of every renderer that answers a discovery request within `timeoutMs` (it waits
 * a little after the first answer for the others). Empty when none answers.
 */
export async function servedModels(
  nc: NatsConnection,
  options: { timeoutMs?: number } = {},
): Promise<Set<string>> {
  const models = new Set<string>();
  try {
    // @nats-io/services bundles older nats-core typings; the connection is the same object.
    const client = new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).client({
      strategy: 'stall',
      stall: 200,
      maxWait: options.timeoutMs ?? 1000,
    });
    for await (const info of await client.info(rendererServiceName())) {
      const model = ModelName.safeParse(info.metadata?.model);
      if (model.success) models.add(model.data);
    }
  } catch {
    // No renderer answered (the client reports "no responders").
  }
  return models;
}

/** Pure: whether a job for `model` can be taken by one of the `served` models, with a readable refusal. */
export function checkModelServed(model: string, served: Iterable<string>): Result<string, ModelNotServed> {
  const list = [...new Set(served)].sort();
  if (list.includes(model)) return { ok: true, value: model };
  const message =
    list.length === 0
      ? `No renderer is online, so a render of ${model} would only wait. Start one (\`npx tessera renderer\`) or try again in a minute.`
      : `No renderer serves the model ${model} right now (online: ${list.join(', ')}), so the job would only wait. Try again later.`;
  return { ok: false, error: { identifier: MODEL_NOT_SERVED, message, model, served: list } };
}
