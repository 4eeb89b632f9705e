/** The page's live feed: Server-Sent Events of one viewer's messages, modals and the bot's status. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DiscordEmulator, StoredMessage } from './emulator/index.js';
import { messageView, noResponseView } from './message-view.js';
import { commandsOf, dmState, modalView, snapshot } from './playground-state.js';

/**
 * Server-Sent Events for one viewer: `message` (a view, new or changed), `remove` (gone or not
 * visible), `modal` (a modal the bot showed the viewer), `status` (bot online, commands, the
 * viewer's DMs). Returns a function that ends the stream.
 */
export function streamEvents(
  emu: DiscordEmulator,
  viewer: { key: string; dismissed: Set<string> },
  req: IncomingMessage,
  res: ServerResponse,
  registry: Set<() => void>,
): () => void {
  const viewerKey = viewer.key;
  const viewerId = emu.users[viewerKey]!.id;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const status = () => ({
    botOnline: emu.connectedBots() > 0,
    commands: commandsOf(emu),
    dms: dmState(emu, viewerKey),
  });
  let lastStatus = JSON.stringify(status());
  send('snapshot', snapshot(emu, viewerKey, viewer.dismissed));

  const onMessage = (m: StoredMessage) => {
    const v = messageView(emu.world, m, viewerId);
    if (v) send('message', v);
    else send('remove', { id: m.id });
    // The first DM opens the viewer's DM channel.
    if (m.guildId === null) onStatus();
  };
  const onReaction = ({ message }: { message: StoredMessage }) => onMessage(message);
  const onInteraction = (i: Parameters<typeof noResponseView>[1]) => {
    const v = noResponseView(emu.world, i, viewerId);
    if (v) send('message', v);
    if (i.modal && i.userId === viewerId && !i.modalSubmitted) {
      const modal = modalView(emu, viewerKey, viewer.dismissed);
      if (modal?.interactionId === i.id) send('modal', modal);
    }
  };
  const onStatus = () => {
    const s = JSON.stringify(status());
    if (s === lastStatus) return;
    lastStatus = s;
    res.write(`event: status\ndata: ${s}\n\n`);
  };
  emu.on('messageCreate', onMessage);
  emu.on('messageUpdate', onMessage);
  emu.on('messageDelete', onMessage);
  emu.on('reactionAdd', onReaction);
  emu.on('reactionRemove', onReaction);
  emu.on('interactionUpdate', onInteraction);
  emu.on('commandsUpdate', onStatus);
  emu.on('usersUpdate', onStatus);
  // Bot connections change without a world event; a heartbeat comment also keeps proxies from closing.
  let beats = 0;
  const timer = setInterval(() => {
    onStatus();
    if (++beats % 15 === 0) res.write(': keep-alive\n\n');
  }, 1000);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    emu.off('messageCreate', onMessage);
    emu.off('messageUpdate', onMessage);
    emu.off('messageDelete', onMessage);
    emu.off('reactionAdd', onReaction);
    emu.off('reactionRemove', onReaction);
    emu.off('interactionUpdate', onInteraction);
    emu.off('commandsUpdate', onStatus);
    emu.off('usersUpdate', onStatus);
    registry.delete(close);
    res.end();
  };
  req.once('close', close);
  return close;
}
