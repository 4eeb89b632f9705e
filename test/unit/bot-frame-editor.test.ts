import { describe, expect, it } from 'vitest';
import {
  FrameEditor,
  MessageEditError,
  createEditPacer,
  type EditTarget,
  type MessageEditPort,
  type RenderPayload,
} from '../../bot/src/core/frame-editor.js';

const interactionTarget = (issuedAt = 0): EditTarget => ({
  kind: 'interaction',
  applicationId: '1',
  token: 't',
  issuedAt,
  channelId: '2',
  messageId: '3',
});

class RecordingPort implements MessageEditPort {
  readonly calls: { target: EditTarget; payload: RenderPayload }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly delayMs = 20,
    private readonly fail?: (target: EditTarget, n: number) => Error | undefined,
  ) {}
  async edit(target: EditTarget, payload: RenderPayload): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      const error = this.fail?.(target, this.calls.length);
      this.calls.push({ target, payload });
      if (error) throw error;
    } finally {
      this.inFlight--;
    }
  }
}

const frame = (n: number): RenderPayload => ({
  content: `step ${n}`,
  image: { name: 'frame.webp', data: new Uint8Array([n]) },
});

describe('FrameEditor', () => {
  it('keeps one edit in flight and always sends the newest state', async () => {
    const port = new RecordingPort(30);
    const editor = new FrameEditor({ port, target: interactionTarget(Date.now()), minIntervalMs: 0 });
    for (let i = 1; i <= 10; i++) {
      editor.show(frame(i));
      await new Promise((r) => setTimeout(r, 5));
    }
    await editor.finish({ content: 'done' });
    expect(port.maxInFlight).toBe(1);
    expect(editor.stats.maxInFlight).toBe(1);
    const contents = port.calls.map((c) => c.payload.content);
    expect(contents.at(-1)).toBe('done');
    expect(contents.length).toBeLessThan(6);
    expect(editor.stats.dropped).toBeGreaterThan(4);
    // What was sent is in order: no older state after a newer one.
    const steps = contents.filter((c) => c.startsWith('step')).map((c) => Number(c.slice(5)));
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  it('waits the minimum interval between edits of one message, but not for the final state', async () => {
    const port = new RecordingPort(1);
    const editor = new FrameEditor({ port, target: interactionTarget(Date.now()), minIntervalMs: 200 });
    const t0 = Date.now();
    editor.show(frame(1));
    await new Promise((r) => setTimeout(r, 20));
    editor.show(frame(2));
    await editor.idle();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const t1 = Date.now();
    await editor.finish({ content: 'done' });
    expect(Date.now() - t1).toBeLessThan(150);
  });

  it('switches to the channel message when the interaction token expired (50027) and resends', async () => {
    const port = new RecordingPort(1, (t) =>
      t.kind === 'interaction' ? new MessageEditError('Invalid Webhook Token', 50027, 401) : undefined,
    );
    const editor = new FrameEditor({ port, target: interactionTarget(Date.now()), minIntervalMs: 0 });
    editor.show(frame(1));
    await editor.idle();
    await editor.finish({ content: 'done' });
    expect(port.calls.map((c) => c.target.kind)).toEqual(['interaction', 'channel', 'channel']);
    expect(port.calls[1]!.payload.content).toBe('step 1');
    expect(editor.stats.switchedToChannel).toBe(true);
  });

  it('switches to the channel before the 15-minute token lifetime ends', async () => {
    let now = 0;
    const port = new RecordingPort(1);
    const editor = new FrameEditor({ port, target: interactionTarget(0), minIntervalMs: 0, now: () => now });
    editor.show(frame(1));
    await editor.idle();
    now = 14 * 60_000 + 1;
    editor.show(frame(2));
    await editor.idle();
    expect(port.calls.map((c) => c.target.kind)).toEqual(['interaction', 'channel']);
  });

  it('leaves out images over the size limit instead of failing the edit', async () => {
    const port = new RecordingPort(1);
    const editor = new FrameEditor({
      port,
      target: interactionTarget(Date.now()),
      minIntervalMs: 0,
      maxFileBytes: 4,
    });
    editor.show({ content: 'big', image: { name: 'a.webp', data: new Uint8Array(10) } });
    await editor.idle();
    expect(port.calls[0]!.payload.image).toBeUndefined();
    expect(editor.stats.oversizeImages).toBe(1);
  });

  it('stops when the message is gone and releases a waiting finish', async () => {
    let gone = 0;
    const port = new RecordingPort(1, () => new MessageEditError('Unknown Message', 10008, 404));
    const editor = new FrameEditor({
      port,
      target: interactionTarget(Date.now()),
      minIntervalMs: 0,
      onGone: () => gone++,
    });
    editor.show(frame(1));
    await editor.idle();
    await editor.finish({ content: 'done' });
    editor.show(frame(2));
    await editor.idle();
    expect(port.calls).toHaveLength(1);
    expect(gone).toBe(1);
  });

  it('retries a final state after a server error', async () => {
    const port = new RecordingPort(1, (_t, n) =>
      n === 0 ? new MessageEditError('Internal', 0, 500) : undefined,
    );
    const editor = new FrameEditor({ port, target: interactionTarget(Date.now()), minIntervalMs: 0 });
    await editor.finish({ content: 'done' });
    expect(port.calls.map((c) => c.payload.content)).toEqual(['done', 'done']);
  });
});

describe('edit pacer', () => {
  it('spreads edits across messages to the configured rate', async () => {
    const pacer = createEditPacer({ perSecond: 20, burst: 1 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => pacer.acquire()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(180);
  });
});
