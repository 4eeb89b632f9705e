/**
 * The playground's HTTP side against a bare emulator (no bot): the page is served, commands are
 * parsed against what was registered and injected as interactions, reactions toggle, ephemeral
 * replies reach only their user, unanswered commands become Discord's "did not respond" notice,
 * and the event stream starts with a snapshot and then carries changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageFlag } from '../../deploy/playground/emulator/index.js';
import { startPlayground, type Playground, type PlaygroundState } from '../../deploy/playground/index.js';

let pg: Playground;

const post = async (path: string, body: unknown) => {
  const res = await fetch(pg.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const state = async (user: string) =>
  (await (await fetch(`${pg.url}/pg/state?user=${user}`)).json()) as PlaygroundState;

beforeAll(async () => {
  pg = await startPlayground({ emulator: { interactionDeadlineMs: 150 } });
  const emu = pg.emulator;
  const res = await fetch(
    `${emu.apiBase}/v10/applications/${emu.applicationId}/guilds/${emu.guild.id}/commands`,
    {
      method: 'PUT',
      headers: { authorization: `Bot ${emu.botToken}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          name: 'imagine',
          description: 'paint',
          type: 1,
          options: [
            { type: 3, name: 'prompt', description: 'p', required: true },
            { type: 4, name: 'seed', description: 's' },
          ],
        },
      ]),
    },
  );
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await pg?.close();
});

describe('playground server', () => {
  it('serves the page, its ES modules and stylesheet', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/playground.js', 'text/javascript'],
      ['/dom.js', 'text/javascript'],
      ['/messages.js', 'text/javascript'],
      ['/playground.css', 'text/css'],
    ] as const) {
      const res = await fetch(pg.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
    }
    expect(await (await fetch(`${pg.url}/`)).text()).toContain('id="composer-input"');
    expect((await fetch(`${pg.url}/nope`)).status).toBe(404);
    expect((await fetch(`${pg.url}/missing.js`)).status).toBe(404);
    // Only files directly in page/: nothing beside or above it.
    expect((await fetch(`${pg.url}/..%2fplayground-server.ts`)).status).toBe(404);
    expect((await fetch(`${pg.url}/%2e%2e/index.ts`)).status).toBe(404);
  });

  it('injects a typed command as the chosen user, and says no politely to mistakes', async () => {
    const emu = pg.emulator;
    const ok = await post('/pg/command', {
      user: 'bob',
      channelId: emu.guild.channelId,
      text: '/imagine prompt:a cat seed:9',
    });
    expect(ok.body.ok).toBe(true);
    const record = emu.interaction(ok.body.interactionId as string)!;
    expect(record.userId).toBe(emu.users.bob!.id);
    expect(record.commandName).toBe('imagine');

    const bad = await post('/pg/command', {
      user: 'bob',
      channelId: emu.guild.channelId,
      text: '/imagine seed:x prompt:y',
    });
    expect(bad.body).toMatchObject({ ok: false, code: 'bad-value' });
    expect(
      (await post('/pg/command', { user: 'mallory', channelId: emu.guild.channelId, text: '/imagine x' }))
        .status,
    ).toBe(400);
    expect((await post('/pg/command', { user: 'bob', channelId: '123', text: '/imagine x' })).status).toBe(
      400,
    );
    const notJson = await fetch(`${pg.url}/pg/command`, { method: 'POST', body: 'nope' });
    expect(notJson.status).toBe(400);

    // Nobody answers (no bot here): after the deadline Bob, and only Bob, sees the notice.
    await emu.waitFor(() => record.state === 'failed' || undefined, { timeoutMs: 2000 });
    expect(
      (await state('bob')).messages.some(
        (m) => m.notice === 'no-response' && m.interaction?.command === 'imagine',
      ),
    ).toBe(true);
    expect((await state('alice')).messages.some((m) => m.notice === 'no-response')).toBe(false);
  });

  it('shows an ephemeral reply only to the user whose command it answers', async () => {
    const emu = pg.emulator;
    const sent = emu.sendSlashCommand({ user: 'alice', command: 'imagine', options: { prompt: 'x' } });
    const m = emu.world.createMessage({
      channelId: emu.guild.channelId,
      authorId: emu.applicationId,
      body: { content: 'only for you', flags: MessageFlag.Ephemeral },
      files: [],
      via: 'interaction-callback',
      interactionId: sent.id,
    });
    const forAlice = (await state('alice')).messages.find((v) => v.id === m.id);
    expect(forAlice).toMatchObject({
      ephemeral: true,
      content: 'only for you',
      interaction: { command: 'imagine', user: { name: 'Alice' } },
    });
    expect((await state('mia')).messages.find((v) => v.id === m.id)).toBeUndefined();
  });

  it('toggles a reaction and resolves embed images from attachment://', async () => {
    const emu = pg.emulator;
    const m = emu.world.createMessage({
      channelId: emu.guild.channelId,
      authorId: emu.applicationId,
      body: {
        content: 'look',
        embeds: [{ title: 't', image: { url: 'attachment://frame.webp' } }],
        attachments: [{ id: 0, filename: 'frame.webp' }],
      },
      files: [
        { index: '0', filename: 'frame.webp', contentType: 'image/webp', data: new Uint8Array([1, 2, 3]) },
      ],
      via: 'channel',
    });
    const view = (await state('alice')).messages.find((v) => v.id === m.id)!;
    expect(view.embeds[0]!.image!.url).toMatch(/^\/attachments\/\d+\/frame\.webp$/);
    expect(view.images).toEqual([]);
    expect(Buffer.from(await (await fetch(pg.url + view.embeds[0]!.image!.url)).arrayBuffer())).toEqual(
      Buffer.from([1, 2, 3]),
    );

    expect((await post('/pg/react', { user: 'mia', messageId: m.id, emoji: '🔁' })).body).toEqual({
      ok: true,
      reacted: true,
    });
    expect(m.reactions.get('🔁')?.has(emu.users.mia!.id)).toBe(true);
    expect((await state('mia')).messages.find((v) => v.id === m.id)!.reactions).toEqual([
      { emoji: '🔁', count: 1, me: true, bot: false },
    ]);
    expect((await post('/pg/react', { user: 'mia', messageId: m.id, emoji: '🔁' })).body).toEqual({
      ok: true,
      reacted: false,
    });
    expect(m.reactions.get('🔁')?.size ?? 0).toBe(0);
    expect((await post('/pg/react', { user: 'mia', messageId: '1', emoji: '🔁' })).status).toBe(404);
  });

  it('streams a snapshot, then each changed message', async () => {
    const emu = pg.emulator;
    const abort = new AbortController();
    const res = await fetch(`${pg.url}/pg/events?user=alice`, { signal: abort.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}`);
        text += Buffer.from(value).toString();
      }
    };
    await until(/^event: snapshot\ndata: .+\n\n/m);
    const m = emu.world.createMessage({
      channelId: emu.guild.channelId,
      authorId: emu.applicationId,
      body: { content: 'hello stream' },
      files: [],
      via: 'channel',
    });
    await until(/event: message\ndata: .*hello stream/);
    emu.world.deleteMessage(m);
    await until(new RegExp(`event: remove\\ndata: \\{"id":"${m.id}"\\}`));
    abort.abort();
  });
});
