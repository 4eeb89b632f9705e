import { describe, expect, it } from 'vitest';
import { deliverByDm, dmClosedNote } from '../../bot/src/dm-delivery.js';
import type { RenderRecord } from '../../bot/src/core/render-record.js';
import { createLogger } from '../../shared/src/index.js';
import { MemoryMessagePort, MemoryPreferencesStore } from '../support/bot-ports.js';

const record: RenderRecord = {
  v: 1,
  jobId: 'j1',
  guildId: 'g1',
  channelId: 'c1',
  messageId: 'm1',
  applicationId: 'app',
  requesterId: 'u1',
  requesterName: 'alice',
  params: {
    promptText: 'a red circle',
    prompts: [],
    seed: 9,
    steps: 5,
    cutn: 8,
    width: 64,
    height: 64,
    quality: 'standard',
    model: 'tiny-shapes',
  },
  state: 'done',
  createdAt: new Date(0).toISOString(),
};
const payload = {
  content: '✅ Done',
  image: { name: 'tessera-9.png', data: new Uint8Array([1, 2, 3]) },
  final: true,
};

function deps() {
  const port = new MemoryMessagePort();
  const preferences = new MemoryPreferencesStore();
  return { port, preferences, log: createLogger({ level: 'silent', name: 't' }), now: () => 1000 };
}

describe('results by DM', () => {
  it('sends nothing unless the member asked for it', async () => {
    const d = deps();
    expect(await deliverByDm(d, record, payload, 'link')).toBe('off');
    expect(d.port.dms).toEqual([]);
  });

  it('sends the picture and a link to the channel message', async () => {
    const d = deps();
    await d.preferences.update('u1', (p) => ({ ...p, dm: true }));
    expect(await deliverByDm(d, record, payload, 'https://discord.com/channels/g1/c1/m1')).toBe('sent');
    expect(d.port.dms).toHaveLength(1);
    expect(d.port.dms[0]!.payload.image?.name).toBe('tessera-9.png');
    expect(d.port.dms[0]!.payload.content).toContain('https://discord.com/channels/g1/c1/m1');
  });

  it('on 50007 says so once under the render, and again only after a DM landed in between', async () => {
    const d = deps();
    await d.preferences.update('u1', (p) => ({ ...p, dm: true }));
    d.port.closedDms.add('u1');
    expect(await deliverByDm(d, record, payload, 'l')).toBe('closed');
    expect(await deliverByDm(d, record, payload, 'l')).toBe('closed');
    const notes = () => d.port.posts.filter((p) => p.content === dmClosedNote('u1'));
    expect(notes()).toHaveLength(1);
    expect(notes()[0]!.replyTo).toBe('m1');
    d.port.closedDms.delete('u1');
    expect(await deliverByDm(d, record, payload, 'l')).toBe('sent');
    d.port.closedDms.add('u1');
    await deliverByDm(d, record, payload, 'l');
    expect(notes()).toHaveLength(2);
  });
});
