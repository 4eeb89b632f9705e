/**
 * A bare discord.js client logged into a fresh Discord emulator, for the emulator's own contract
 * tests (components, modals, DMs): no bot, no NATS — just what the client sees.
 */
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  Events,
  GatewayIntentBits,
  Partials,
  type Interaction,
  type SendableChannels,
} from 'discord.js';
import { createDiscordEmulator, type DiscordEmulator } from '../../deploy/playground/emulator/index.js';

export interface EmulatorClient {
  emulator: DiscordEmulator;
  client: Client;
  /** The emulator's default guild channel. */
  channel: SendableChannels;
  /** Every interaction the client received. */
  seen: Interaction[];
  /** Resolves with the interaction `id` once the client has it. */
  received<T extends Interaction>(id: string): Promise<T>;
  close(): Promise<void>;
}

export async function connectEmulatorClient(): Promise<EmulatorClient> {
  const emulator = await createDiscordEmulator();
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.DirectMessages],
    partials: [Partials.Channel],
    rest: { api: emulator.apiBase },
    allowedMentions: { parse: [] },
  });
  const seen: Interaction[] = [];
  client.on(Events.InteractionCreate, (i) => void seen.push(i));
  const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(emulator.botToken);
  await ready;
  const channel = await client.channels.fetch(emulator.guild.channelId);
  if (!channel?.isSendable()) throw new Error('no sendable channel');
  return {
    emulator,
    client,
    channel,
    seen,
    received: <T extends Interaction>(id: string) =>
      emulator.waitFor(() => seen.find((x) => x.id === id) as T | undefined, { what: `interaction ${id}` }),
    async close() {
      await client.destroy();
      await emulator.close();
    },
  };
}

export const buttonRow = (...buttons: ButtonBuilder[]) =>
  new ActionRowBuilder<ButtonBuilder>().addComponents(buttons);

export const secondaryButton = (id: string, label: string) =>
  new ButtonBuilder().setCustomId(id).setLabel(label).setStyle(ButtonStyle.Secondary);
