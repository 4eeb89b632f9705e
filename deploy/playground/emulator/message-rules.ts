/**
 * The checks Discord applies to a message body (content and embed limits, components) and who a
 * message notifies (mentions resolved against `allowed_mentions`).
 */
import { validateMessageComponents, type StoredActionRow } from './components.js';
import { invalidFormBody } from './errors.js';
import type { EmulatedGuild, MessagePings } from './model.js';
import type { MessageBody } from './world.js';

const MAX_CONTENT = 2000;
const MAX_EMBEDS = 10;

/**
 * Checks content and embeds against Discord's limits and returns the message's components as
 * stored (undefined when the body has no `components` field, so an edit keeps the current ones).
 */
export function validateBody(body: MessageBody): StoredActionRow[] | undefined {
  const content = body.content ?? '';
  if (typeof content !== 'string')
    throw invalidFormBody('content', 'BASE_TYPE_REQUIRED', 'Must be a string.');
  if ([...content].length > MAX_CONTENT) {
    throw invalidFormBody('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`);
  }
  const embeds = body.embeds ?? [];
  if (embeds.length > MAX_EMBEDS)
    throw invalidFormBody('embeds', 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  for (const raw of embeds) {
    const e = raw as {
      title?: string;
      description?: string;
      footer?: { text?: string };
      fields?: { name: string; value: string }[];
    };
    const title = e.title ?? '';
    const description = e.description ?? '';
    if ([...title].length > 256)
      throw invalidFormBody('embeds.0.title', 'BASE_TYPE_MAX_LENGTH', 'Must be 256 or fewer in length.');
    if ([...description].length > 4096) {
      throw invalidFormBody(
        'embeds.0.description',
        'BASE_TYPE_MAX_LENGTH',
        'Must be 4096 or fewer in length.',
      );
    }
    for (const f of e.fields ?? []) {
      if ([...f.name].length > 256 || [...f.value].length > 1024) {
        throw invalidFormBody('embeds.0.fields', 'BASE_TYPE_MAX_LENGTH', 'Field too long.');
      }
      total += [...f.name].length + [...f.value].length;
    }
    total += [...title].length + [...description].length + [...(e.footer?.text ?? '')].length;
  }
  if (total > 6000)
    throw invalidFormBody('embeds', 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  return body.components === undefined ? undefined : validateMessageComponents(body.components);
}

/**
 * Who a message notifies. Without `allowed_mentions` Discord parses everything; with it, only the
 * listed kinds/ids. (`@here` counts as everyone.)
 * @see https://discord.com/developers/docs/resources/message#allowed-mentions-object
 */
export function resolvePings(
  content: string,
  allowed: MessageBody['allowed_mentions'],
  guild: EmulatedGuild,
): MessagePings {
  const parse = new Set(allowed ? (allowed.parse ?? []) : ['everyone', 'users', 'roles']);
  const allowUsers = new Set(allowed?.users ?? []);
  const allowRoles = new Set(allowed?.roles ?? []);
  const everyone = parse.has('everyone') && /@(everyone|here)/.test(content);
  const users = [...content.matchAll(/<@!?(\d{15,21})>/g)]
    .map((m) => m[1]!)
    .filter((id) => parse.has('users') || allowUsers.has(id));
  const roles = [...content.matchAll(/<@&(\d{15,21})>/g)]
    .map((m) => m[1]!)
    .filter((id) => guild.roles.has(id) && (parse.has('roles') || allowRoles.has(id)));
  return { everyone, users: [...new Set(users)], roles: [...new Set(roles)] };
}

export function mergePings(a: MessagePings, b: MessagePings): MessagePings {
  return {
    everyone: a.everyone || b.everyone,
    users: [...new Set([...a.users, ...b.users])],
    roles: [...new Set([...a.roles, ...b.roles])],
  };
}
