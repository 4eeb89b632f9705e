/**
 * The emulator's gateway: HELLO, heartbeat ACKs, IDENTIFY → READY + GUILD_CREATE, and dispatch of
 * interactions and reactions to every identified session whose intents ask for them.
 * JSON encoding, no compression (discord.js only asks for zlib when `zlib-sync` is installed).
 * @see https://discord.com/developers/docs/topics/gateway
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { guildCreatePayload, userPayload } from './payloads.js';
import type { EmulatorWorld } from './world.js';

export const GatewayIntent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

interface Session {
  ws: WebSocket;
  id: string;
  seq: number;
  intents: number;
  identified: boolean;
}

export interface GatewayServerOptions {
  world: EmulatorWorld;
  server: Server;
  path: string;
  heartbeatIntervalMs?: number;
  resumeUrl: () => string;
}

export class GatewayServer {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  /** Called when a session finished IDENTIFY (tests wait for the bot to be connected). */
  onIdentify: ((intents: number) => void) | undefined;

  constructor(private readonly options: GatewayServerOptions) {
    this.wss = new WebSocketServer({ server: options.server, path: options.path });
    this.wss.on('connection', (ws) => this.accept(ws));
  }

  /** Number of identified gateway sessions (connected bots). */
  get connected(): number {
    let n = 0;
    for (const s of this.sessions) if (s.identified) n++;
    return n;
  }

  /** Sends a dispatch event to every identified session that has `intent` (or to all if none needed). */
  dispatch(event: string, data: unknown, intent?: number): void {
    for (const s of this.sessions) {
      if (!s.identified) continue;
      if (intent !== undefined && (s.intents & intent) === 0) continue;
      this.send(s, { op: Op.Dispatch, t: event, s: ++s.seq, d: data });
    }
  }

  /** Closes every session (like Discord asking clients to reconnect) and the server. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.ws.terminate();
    this.sessions.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const session: Session = {
      ws,
      id: randomUUID().replaceAll('-', ''),
      seq: 0,
      intents: 0,
      identified: false,
    };
    this.sessions.add(session);
    ws.on('close', () => this.sessions.delete(session));
    ws.on('error', () => this.sessions.delete(session));
    ws.on('message', (raw) => {
      let packet: { op?: number; d?: unknown };
      try {
        packet = JSON.parse(String(raw)) as { op?: number; d?: unknown };
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      this.onPacket(session, packet);
    });
    this.send(session, {
      op: Op.Hello,
      d: { heartbeat_interval: this.options.heartbeatIntervalMs ?? 41_250 },
      s: null,
      t: null,
    });
  }

  private onPacket(s: Session, packet: { op?: number; d?: unknown }): void {
    switch (packet.op) {
      case Op.Heartbeat:
        this.send(s, { op: Op.HeartbeatAck, d: null, s: null, t: null });
        return;
      case Op.Identify:
        this.identify(s, packet.d as { token?: string; intents?: number });
        return;
      case Op.Resume:
        // Sessions do not survive here: make the client identify again.
        this.send(s, { op: Op.InvalidSession, d: false, s: null, t: null });
        return;
      case Op.PresenceUpdate:
      case Op.RequestGuildMembers:
        return;
      default:
        s.ws.close(4001, 'Unknown opcode');
    }
  }

  private identify(s: Session, d: { token?: string; intents?: number }): void {
    const { world } = this.options;
    const token = (d.token ?? '').replace(/^Bot /, '');
    if (token !== world.options.botToken) {
      s.ws.close(4004, 'Authentication failed.');
      return;
    }
    if (s.identified) {
      s.ws.close(4005, 'Already authenticated.');
      return;
    }
    s.intents = Number(d.intents ?? 0);
    s.identified = true;
    const bot = world.users.get(world.applicationId)!;
    this.send(s, {
      op: Op.Dispatch,
      t: 'READY',
      s: ++s.seq,
      d: {
        v: 10,
        user: { ...userPayload(bot), verified: true, mfa_enabled: false, email: null },
        guilds: [...world.guilds.keys()].map((id) => ({ id, unavailable: true })),
        session_id: s.id,
        resume_gateway_url: this.options.resumeUrl(),
        shard: [0, 1],
        application: { id: world.applicationId, flags: 0 },
        private_channels: [],
        presences: [],
        relationships: [],
        user_settings: {},
        geo_ordered_rtc_regions: [],
        guild_join_requests: [],
        _trace: ['["tessera-emulator",{}]'],
      },
    });
    // discord.js waits (15 s) for every guild of READY to arrive before it is ready.
    for (const guild of world.guilds.values()) {
      if ((s.intents & GatewayIntent.Guilds) === 0) continue;
      this.send(s, {
        op: Op.Dispatch,
        t: 'GUILD_CREATE',
        s: ++s.seq,
        d: guildCreatePayload(guild, world.users),
      });
    }
    this.onIdentify?.(s.intents);
  }

  private send(s: Session, payload: unknown): void {
    if (s.ws.readyState === s.ws.OPEN) s.ws.send(JSON.stringify(payload));
  }
}
