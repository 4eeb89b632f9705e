/**
 * The progress-message editor: keeps one Discord message showing the newest state of a render.
 *
 * - At most one edit in flight per message; while one is in flight, newer states replace the
 *   waiting one (frames in between are dropped), so the newest frame always wins.
 * - A minimum interval between edits of one message and a shared pacer across messages keep
 *   many concurrent renders from turning into an edit storm. 429s are waited out by the REST
 *   client (discord.js), which simply keeps our one edit in flight longer.
 * - Interaction tokens edit the reply for 15 minutes: after `tokenSwitchAfterMs` (≈14 min) or on
 *   error 50027 the editor switches to editing the channel message with the bot token.
 * - Images over the size limit are left out rather than failing the edit.
 */

/** Where an edit goes: the interaction's webhook (token) or the channel message (bot token). */
export type EditTarget =
  | {
      kind: 'interaction';
      applicationId: string;
      token: string;
      issuedAt: number;
      channelId: string;
      messageId: string;
    }
  | { kind: 'channel'; channelId: string; messageId: string };

export interface MessageImage {
  name: string;
  data: Uint8Array;
}

/** A button under a render message; `customId` comes from `custom-id.ts`. */
export interface MessageButton {
  customId: string;
  label: string;
  emoji?: string;
  style: 'primary' | 'secondary' | 'success' | 'danger';
}

/** One complete state of the message. */
export interface RenderPayload {
  content: string;
  /** A plain Discord embed object; the port points its image at the attachment. */
  embed?: Record<string, unknown>;
  image?: MessageImage;
  /** Rows of buttons under the message (Discord: at most 5 rows of 5); absent: none. */
  components?: MessageButton[][];
  /** The last state (done / failed / cancelled): sent even if it waits, and `finish` resolves on it. */
  final?: boolean;
}

/** The tiny port that talks to Discord. */
export interface MessageEditPort {
  edit(target: EditTarget, payload: RenderPayload, signal?: AbortSignal): Promise<void>;
}

/** An edit Discord refused, with its JSON error code (50027 expired token, 10008 unknown message …). */
export class MessageEditError extends Error {
  override readonly name = 'MessageEditError';
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Paces edits across all messages (a token bucket). */
export interface EditPacer {
  acquire(signal?: AbortSignal): Promise<void>;
}

export function createEditPacer(options: {
  perSecond: number;
  burst?: number;
  now?: () => number;
}): EditPacer {
  const now = options.now ?? Date.now;
  const burst = options.burst ?? Math.max(1, Math.ceil(options.perSecond));
  let tokens = burst;
  let last = now();
  let chain: Promise<void> = Promise.resolve();
  const take = async (): Promise<void> => {
    for (;;) {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * options.perSecond);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - tokens) / options.perSecond) * 1000));
    }
  };
  return {
    acquire(signal) {
      signal?.throwIfAborted();
      const turn = chain.then(take);
      chain = turn.catch(() => undefined);
      return turn;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface FrameEditorStats {
  /** States handed to `show`/`finish`. */
  requested: number;
  /** Edits sent to Discord (including failed ones). */
  sent: number;
  /** States replaced by a newer one before being sent. */
  dropped: number;
  /** Highest number of this editor's edits in flight at once (must stay ≤ 1). */
  maxInFlight: number;
  switchedToChannel: boolean;
  /** Images left out because they were over the size limit. */
  oversizeImages: number;
}

export interface FrameEditorOptions {
  port: MessageEditPort;
  target: EditTarget;
  /** Largest image attached to an edit (the interaction's attachment_size_limit). */
  maxFileBytes?: number;
  minIntervalMs?: number;
  tokenSwitchAfterMs?: number;
  pacer?: EditPacer;
  now?: () => number;
  /** Called once when the message is gone (deleted) or can no longer be edited. */
  onGone?: (error: MessageEditError) => void;
  onError?: (error: unknown) => void;
}

const EXPIRED_TOKEN = 50027;
const UNKNOWN_MESSAGE = 10008;
const UNKNOWN_WEBHOOK = 10015;
const OLD_MESSAGE = 30046;

export class FrameEditor {
  readonly stats: FrameEditorStats = {
    requested: 0,
    sent: 0,
    dropped: 0,
    maxInFlight: 0,
    switchedToChannel: false,
    oversizeImages: 0,
  };
  private target: EditTarget;
  private pending: RenderPayload | undefined;
  private pumping = false;
  private inFlight = 0;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  private finalSent = false;
  private readonly finalWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly options: FrameEditorOptions) {
    this.target = options.target;
    this.now = options.now ?? Date.now;
  }

  get currentTarget(): EditTarget {
    return this.target;
  }

  /** True once the final state landed or the message is gone. */
  get done(): boolean {
    return this.finalSent || this.closed;
  }

  /** Shows a state; replaces any state still waiting. Ignored after the final state. */
  show(payload: RenderPayload): void {
    if (this.closed || this.finalSent || this.pending?.final) return;
    this.stats.requested += 1;
    if (this.pending) this.stats.dropped += 1;
    this.pending = payload;
    void this.pump();
  }

  /** Shows the final state and resolves once it landed (or the message is gone). */
  finish(payload: Omit<RenderPayload, 'final'>): Promise<void> {
    if (this.closed || this.finalSent) return Promise.resolve();
    this.stats.requested += 1;
    if (this.pending) this.stats.dropped += 1;
    this.pending = { ...payload, final: true };
    const landed = new Promise<void>((resolve) => this.finalWaiters.push(resolve));
    void this.pump();
    return landed;
  }

  /** Resolves when nothing is waiting or in flight. */
  idle(): Promise<void> {
    if (!this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops editing (pending state dropped). */
  close(): void {
    this.closed = true;
    this.pending = undefined;
    this.releaseFinal();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pending && !this.closed) {
        const wait = this.lastSentAt + (this.options.minIntervalMs ?? 1000) - this.now();
        if (wait > 0 && !this.pending.final) await sleep(wait);
        await this.options.pacer?.acquire();
        const payload = this.pending;
        this.pending = undefined;
        if (!payload || this.closed) break;
        await this.sendWithRetries(payload);
        if (payload.final) {
          this.finalSent = true;
          this.releaseFinal();
        }
      }
    } finally {
      this.pumping = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private releaseFinal(): void {
    for (const w of this.finalWaiters.splice(0)) w();
  }

  private async sendWithRetries(payload: RenderPayload): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sendOnce(payload);
        return;
      } catch (e) {
        const error = e instanceof MessageEditError ? e : undefined;
        if (error && (error.code === UNKNOWN_MESSAGE || error.code === OLD_MESSAGE)) {
          this.closed = true;
          this.pending = undefined;
          this.options.onGone?.(error);
          return;
        }
        this.options.onError?.(e);
        // A newer state supersedes a failed intermediate one; a final one is retried a few times.
        const retryable = error?.status === undefined || error.status >= 500;
        if (!retryable || attempt >= (payload.final ? 5 : 2) || (this.pending && !payload.final)) return;
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }
  }

  private async sendOnce(payload: RenderPayload): Promise<void> {
    const limit = this.options.maxFileBytes ?? 10 * 1024 * 1024;
    let body = payload;
    if (payload.image && payload.image.data.byteLength > limit) {
      this.stats.oversizeImages += 1;
      const { image: _dropped, ...rest } = payload;
      body = rest;
    }
    if (
      this.target.kind === 'interaction' &&
      this.now() - this.target.issuedAt >= (this.options.tokenSwitchAfterMs ?? 14 * 60_000)
    ) {
      this.switchToChannel();
    }
    try {
      await this.tracked(() => this.options.port.edit(this.target, body));
    } catch (e) {
      const expired =
        e instanceof MessageEditError &&
        (e.code === EXPIRED_TOKEN || e.code === UNKNOWN_WEBHOOK || e.status === 401);
      if (!expired || this.target.kind !== 'interaction') throw e;
      this.switchToChannel();
      await this.tracked(() => this.options.port.edit(this.target, body));
    }
    this.lastSentAt = this.now();
  }

  private async tracked(edit: () => Promise<void>): Promise<void> {
    this.inFlight += 1;
    this.stats.sent += 1;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
    try {
      await edit();
    } finally {
      this.inFlight -= 1;
    }
  }

  private switchToChannel(): void {
    if (this.target.kind === 'channel') return;
    this.target = { kind: 'channel', channelId: this.target.channelId, messageId: this.target.messageId };
    this.stats.switchedToChannel = true;
  }
}
