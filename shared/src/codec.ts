/**
 * JSON ⇄ bytes for every NATS message, parsed by its zod schema. Decoding never throws: it
 * returns a `Result` whose error is a `ContractError` saying how the bytes were wrong, so that a
 * worker can turn it straight into a terminal `failed` event.
 */
import type { z } from 'zod';
import { CONTRACT_VERSION, JobId } from './contracts.js';
import { ContractError } from './errors.js';
import type { Result } from './errors.js';
import { parseJobSubject } from './subjects.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Validates `value` with `schema` and encodes it as UTF-8 JSON. Throws on invalid input (a bug). */
export function encodeMessage<S extends z.ZodType>(schema: S, value: z.input<S>): Uint8Array {
  return encoder.encode(JSON.stringify(schema.parse(value)));
}

/** Summarises zod issues as `path: message; …` for a failure reason. */
export function summarizeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`)
    .join('; ');
}

export interface DecodeOptions {
  /** Refuse payloads larger than this (bytes) before parsing. */
  maxBytes?: number;
  subject?: string;
  /** Name of the schema, for messages (`RenderJob`). */
  name?: string;
}

/** Parses bytes into a message of `schema`; a version other than `v: 1` is its own error. */
export function decodeMessage<S extends z.ZodType>(
  schema: S,
  data: Uint8Array,
  options: DecodeOptions = {},
): Result<z.output<S>, ContractError> {
  const name = options.name ?? 'message';
  const context = { subject: options.subject, schema: options.name };
  if (options.maxBytes !== undefined && data.byteLength > options.maxBytes) {
    return {
      ok: false,
      error: new ContractError(
        `The ${name} is ${data.byteLength} bytes; the limit is ${options.maxBytes} bytes (images must be sent by object-store reference).`,
        'job-too-large',
        context,
      ),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (cause) {
    return {
      ok: false,
      error: new ContractError(`The ${name} is not valid JSON.`, 'malformed-json', context, { cause }),
    };
  }
  if (
    typeof json === 'object' &&
    json !== null &&
    'v' in json &&
    (json as { v: unknown }).v !== CONTRACT_VERSION
  ) {
    const got = JSON.stringify((json as { v: unknown }).v);
    return {
      ok: false,
      error: new ContractError(
        `The ${name} has schema version ${got}; this renderer understands version ${CONTRACT_VERSION}.`,
        'unsupported-version',
        context,
      ),
    };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      error: new ContractError(
        `The ${name} is invalid: ${summarizeIssues(parsed.error)}.`,
        'invalid-job',
        context,
        {
          cause: parsed.error,
        },
      ),
    };
  }
  return { ok: true, value: parsed.data };
}

/** Best effort: the `jobId` of a message that failed to decode, if it has a usable one. */
export function salvageJobId(data: Uint8Array): string | undefined {
  try {
    const json: unknown = JSON.parse(decoder.decode(data));
    if (typeof json === 'object' && json !== null && 'jobId' in json) {
      const id = (json as { jobId: unknown }).jobId;
      if (JobId.safeParse(id).success) return id as string;
    }
  } catch {
    // not JSON: the caller falls back to the message id or subject
  }
  return undefined;
}

/** What `jobIdOfMessage` looks at: a job message as read from the stream. */
export interface JobMessageParts {
  subject: string;
  /** The `Nats-Msg-Id` header, when there is one. */
  msgId?: string | null;
  data: Uint8Array;
  seq: number;
}

/**
 * The one rule for the job id of a message on the jobs stream, even when its body is unreadable:
 * the subject (`tessera.jobs.<model>.<jobId>`, the only kind the stream takes, and what cancels
 * and events are keyed by), then `Nats-Msg-Id`, then the body's `jobId`, then `seq-<n>`. Only
 * values that are valid job ids count.
 */
export function jobIdOfMessage(message: JobMessageParts): string {
  const fromSubject = parseJobSubject(message.subject)?.jobId;
  if (fromSubject !== undefined && JobId.safeParse(fromSubject).success) return fromSubject;
  const msgId = message.msgId;
  if (msgId && JobId.safeParse(msgId).success) return msgId;
  return salvageJobId(message.data) ?? `seq-${message.seq}`;
}
