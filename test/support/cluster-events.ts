/**
 * Reading a cluster farm's terminal events back for the failover test: per job from the events
 * stream's leader (the stream of record), and the whole stream through an ordered consumer, which
 * the server places on any replica — where the two disagree, the replicas have drifted apart.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  JobEvent,
  TerminalJobEvent,
  decodeMessage,
  eventsStream,
  farmStreamNames,
  lifecycleEventsSubjects,
  resultsBucket,
  terminalEventSubject,
  type NatsConnection,
} from '../../shared/src/index.js';
import type { NatsCluster } from './nats-cluster.js';

/**
 * Retries a read of the test's own while the cluster answers "no responders" or times out (a stream
 * or consumer without a leader for the seconds an election takes after a restart), for at most
 * `timeoutMs`. A reader's retry: what the read returns is still checked, nothing lost is hidden.
 */
export async function retryRead<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline || !/no responders|timeout/i.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export interface StoredTerminal {
  event: TerminalJobEvent;
  seq: number;
  /** Stream timestamp (ms). */
  storedAt: number;
}

/** Terminal events per job id on the events stream's leader: how many, and the last one. */
export function leaderTerminals(
  nc: NatsConnection,
  ids: readonly string[],
): Promise<{ counts: Map<string, number>; last: Map<string, StoredTerminal> }> {
  return retryRead(() => readLeaderTerminals(nc, ids));
}

async function readLeaderTerminals(
  nc: NatsConnection,
  ids: readonly string[],
): Promise<{ counts: Map<string, number>; last: Map<string, StoredTerminal> }> {
  const jsm = await jetstreamManager(nc);
  const terminalPattern = lifecycleEventsSubjects().find((s) => s.endsWith('.end'))!;
  const info = await jsm.streams.info(eventsStream(), { subjects_filter: terminalPattern });
  const subjects = info.state.subjects ?? {};
  const counts = new Map(ids.map((id) => [id, subjects[terminalEventSubject(id)] ?? 0]));
  const last = new Map<string, StoredTerminal>();
  for (const id of ids) {
    if (!counts.get(id)) continue;
    const m = await jsm.streams.getMessage(eventsStream(), { last_by_subj: terminalEventSubject(id) });
    const decoded = m && decodeMessage(TerminalJobEvent, m.data, { name: 'terminal event' });
    if (decoded?.ok) last.set(id, { event: decoded.value, seq: m!.seq, storedAt: m!.time.getTime() });
  }
  return { counts, last };
}

/** A job's result as the results bucket's leader holds it (not a direct get, which any replica answers). */
export async function leaderResult(
  nc: NatsConnection,
  jobId: string,
): Promise<{ result: TerminalJobEvent; createdAt: number } | undefined> {
  const jsm = await jetstreamManager(nc);
  const m = await retryRead(() =>
    jsm.streams.getMessage(`KV_${resultsBucket()}`, {
      last_by_subj: `$KV.${resultsBucket()}.${jobId}`,
    }),
  );
  const decoded = m && decodeMessage(TerminalJobEvent, m.data, { name: 'result' });
  return decoded?.ok ? { result: decoded.value, createdAt: m!.time.getTime() } : undefined;
}

/** Polls the leader until every job has its terminal event or `timeoutMs` passes. */
export async function waitForTerminals(
  nc: NatsConnection,
  ids: readonly string[],
  timeoutMs: number,
): Promise<Awaited<ReturnType<typeof leaderTerminals>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await leaderTerminals(nc, ids);
    if (ids.every((id) => read.counts.get(id)! > 0) || Date.now() > deadline) return read;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The whole events stream through an ordered consumer (on whichever replica the server puts it):
 * the terminal events' sequences per job, and the subject read at every sequence.
 */
export function replicaRead(
  nc: NatsConnection,
): Promise<{ terminals: Map<string, number[]>; subjects: Map<number, string>; last: number }> {
  return retryRead(() => readThroughConsumer(nc));
}

async function readThroughConsumer(
  nc: NatsConnection,
): Promise<{ terminals: Map<string, number[]>; subjects: Map<number, string>; last: number }> {
  const last = (await (await jetstreamManager(nc)).streams.info(eventsStream())).state.last_seq;
  const consumer = await jetstream(nc).consumers.get(eventsStream());
  const terminals = new Map<string, number[]>();
  const subjects = new Map<number, string>();
  for (let seq = 0; seq < last; ) {
    const msg = await consumer.next({ expires: 5000 });
    if (!msg) break;
    seq = msg.seq;
    subjects.set(seq, msg.subject);
    const decoded = decodeMessage(JobEvent, msg.data);
    if (!decoded.ok) continue;
    const e = decoded.value;
    if (e.type !== 'done' && e.type !== 'failed' && e.type !== 'cancelled') continue;
    terminals.set(e.jobId, [...(terminals.get(e.jobId) ?? []), seq]);
  }
  await consumer.delete().catch(() => undefined);
  return { terminals, subjects, last };
}

/** Where the replica's read differs from the leader: `seq: replica subject ≠ leader subject`. */
export async function divergence(
  nc: NatsConnection,
  read: Awaited<ReturnType<typeof replicaRead>>,
): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const out: string[] = [];
  for (let seq = 1; seq <= read.last; seq++) {
    const leader = await jsm.streams.getMessage(eventsStream(), { seq }).catch(() => null);
    const replica = read.subjects.get(seq);
    if (leader?.subject !== replica) out.push(`${seq}: ${replica ?? 'none'} ≠ ${leader?.subject ?? 'none'}`);
  }
  return out;
}

/** Which nodes' events stream files hold a job's terminal subject, and their stream log lines. */
export function storesHolding(cluster: NatsCluster, jobId: string): string[] {
  return cluster.nodes.map((n) => {
    const dir = path.join(cluster.dir, `store-${n.name.slice(1)}`);
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile() && e.name.endsWith('.blk') && e.parentPath.includes(eventsStream()),
    );
    const has = files.some((f) =>
      readFileSync(path.join(f.parentPath, f.name)).includes(terminalEventSubject(jobId)),
    );
    const lines = n
      .output()
      .split('\n')
      .filter((l) => l.includes(eventsStream()))
      .slice(-8);
    return `${n.name} store has ${jobId}: ${has}\n  ${lines.join('\n  ')}`;
  });
}

/** Waits until every replica of every farm stream is current again (a restarted node caught up). */
export async function waitUntilCurrent(nc: NatsConnection, timeoutMs: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  let behind: string[] = [];
  const deadline = Date.now() + timeoutMs;
  do {
    behind = [];
    for (const name of farmStreamNames()) {
      const info = await jsm.streams.info(name).catch(() => undefined);
      const ok = info?.cluster?.leader && (info.cluster.replicas ?? []).every((r) => r.current && !r.offline);
      if (!ok) behind.push(name);
    }
    if (behind.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  } while (Date.now() < deadline);
  throw new Error(`replicas not current after ${timeoutMs} ms: ${behind.join(', ')}`);
}

/** The longest time between two consecutive stored times. */
export function longestStall(times: number[]): { ms: number; endsAt: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { ms: 0, endsAt: 0 };
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]! - sorted[i - 1]! > best.ms)
      best = { ms: Math.round(sorted[i]! - sorted[i - 1]!), endsAt: Math.round(sorted[i]!) };
  return best;
}

/** nats-server releases that keep a stream's replicas in step across leader changes after refused publishes (2.9.21+). */
export function serverSyncsFailedProposals(version: string | undefined): boolean {
  const [major = 0, minor = 0, patch = 0] = (version ?? '0').split('.').map((n) => Number.parseInt(n, 10));
  return major > 2 || (major === 2 && (minor > 9 || (minor === 9 && patch >= 21)));
}
