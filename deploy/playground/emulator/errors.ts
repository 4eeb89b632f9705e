/**
 * An error the emulated API answers with, shaped like Discord's JSON error body
 * (`{ code, message, errors? }`) so discord.js raises its usual `DiscordAPIError[code]`.
 * @see https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
 */
export class EmulatedApiError extends Error {
  override readonly name = 'EmulatedApiError';
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
  }

  toJSON(): { code: number; message: string; errors?: unknown } {
    return { code: this.code, message: this.message, errors: this.errors };
  }
}

export const unknownMessage = () => new EmulatedApiError(404, 10008, 'Unknown Message');
export const unknownChannel = () => new EmulatedApiError(404, 10003, 'Unknown Channel');
export const unknownInteraction = () => new EmulatedApiError(404, 10062, 'Unknown interaction');
export const alreadyAcknowledged = () =>
  new EmulatedApiError(400, 40060, 'Interaction has already been acknowledged.');
export const invalidWebhookToken = () => new EmulatedApiError(401, 50027, 'Invalid Webhook Token');
export const unauthorized = () => new EmulatedApiError(401, 0, '401: Unauthorized');
export const notAuthor = () =>
  new EmulatedApiError(403, 50005, 'Cannot edit a message authored by another user');
export const cannotMessageUser = () => new EmulatedApiError(403, 50007, 'Cannot send messages to this user');
export const tooLarge = () => new EmulatedApiError(413, 40005, 'Request entity too large');

/**
 * Discord's "Invalid Form Body" with the nested `errors` object it uses: the dotted `field`
 * (`components.0.components.1.custom_id`) becomes one level per segment, `_errors` at the leaf.
 */
export function invalidFormBody(field: string, code: string, message: string): EmulatedApiError {
  let errors: Record<string, unknown> = { _errors: [{ code, message }] };
  for (const key of field.split('.').reverse()) errors = { [key]: errors };
  return new EmulatedApiError(400, 50035, 'Invalid Form Body', errors);
}
