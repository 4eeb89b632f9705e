/**
 * Repeats are not sent blind. A settle asks the results bucket's leader before its KV `create`, and
 * a settle retried after a lost ack, a redelivered job that already ended and the residue sweep ask
 * the events stream's leader whether the terminal event is stored, publishing only when it is not: on nats-server < 2.9.21 every refused or
 * deduplicated publish is a failed proposal that, across a leader change, lets a stream's replicas
 * drift apart (the cluster failover test lost terminal events on a follower this way).
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindFarm,
  eventsStream,
  publishJobEvent,
  publishMissingTerminalEvent,
  settleJob,
  terminalEventSubject,
  type Farm,
  type TerminalJobEvent,
} from '../../shared/src/index.js';
import { openTestFarm } from '../support/farm-harness.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const event = (jobId: string, by = 'r-1'): TerminalJobEvent => ({
  v: 1,
  type: 'cancelled',
  jobId,
  at: '2026-01-01T00:00:00.000Z',
  by,
});

/** `farm` whose terminal-event publishes are counted; with `loseAck`, stored but answered by a timeout. */
function watched(farm: Farm, options: { loseAck?: boolean } = {}) {
  const sent: string[] = [];
  const publish: Farm['js']['publish'] = async (subject, data, opts) => {
    if (subject.endsWith('.end')) sent.push(subject);
    const ack = await farm.js.publish(subject, data, opts);
    if (options.loseAck) throw new Error('TIMEOUT (the node died before the ack came back)');
    return ack;
  };
  return { farm: { ...farm, js: { ...farm.js, publish } as Farm['js'] }, sent };
}

describe('publishing a terminal event again', () => {
  let server: NatsServerHandle;
  let renderer: Farm;
  let scheduler: Farm;

  beforeAll(async () => {
    server = await startNatsServer();
    const bot = await openTestFarm(server);
    await bot.nc.close();
    renderer = await bindFarm(await server.connect('renderer', { name: 'retry-renderer' }), bot.settings);
    scheduler = await bindFarm(await server.connect('scheduler', { name: 'retry-scheduler' }), bot.settings, {
      schedulerBucket: true,
    });
  });
  afterAll(async () => {
    await renderer?.nc.close();
    await scheduler?.nc.close();
    await server?.dispose();
  });

  async function terminalEvents(jobId: string): Promise<number> {
    const info = await renderer.jsm.streams.info(eventsStream(), {
      subjects_filter: terminalEventSubject(jobId),
    });
    return info.state.subjects?.[terminalEventSubject(jobId)] ?? 0;
  }

  it('a settle retried after a lost ack sends no second publish, and still wins', async () => {
    const lossy = watched(renderer, { loseAck: true });
    await expect(settleJob(lossy.farm, event('lost-ack-1'))).rejects.toThrow(/TIMEOUT/);
    expect(lossy.sent).toHaveLength(1);
    expect(await terminalEvents('lost-ack-1')).toBe(1);

    const retry = watched(renderer);
    const settled = await settleJob(retry.farm, event('lost-ack-1'));
    expect(settled.won).toBe(true);
    // Before: the retry published again and the stream deduplicated it (a failed proposal).
    expect(retry.sent).toEqual([]);
    expect(await terminalEvents('lost-ack-1')).toBe(1);
  });

  it('a settle retried after the result was stored asks the leader, and sends no losing create', async () => {
    const creates: string[] = [];
    const results = (loseAck: boolean): Farm['results'] =>
      Object.assign(Object.create(renderer.results), {
        async create(key: string, data: Uint8Array) {
          creates.push(key);
          const seq = await renderer.results.create(key, data);
          if (loseAck) throw new Error('TIMEOUT (the node died before the ack came back)');
          return seq;
        },
      });
    const lossy = { ...renderer, results: results(true) };
    await expect(settleJob(lossy, event('stored-1'))).rejects.toThrow(/TIMEOUT/);
    expect(creates).toEqual(['stored-1']);
    const retry = watched({ ...renderer, results: results(false) });
    expect((await settleJob(retry.farm, event('stored-1'))).won).toBe(true);
    // Before: the retry's create lost to its own first write (a refused publish on the bucket).
    expect(creates).toEqual(['stored-1']);
    expect(retry.sent).toEqual([terminalEventSubject('stored-1')]);
    // Another attempt's outcome loses without trying to create.
    const other = await settleJob({ ...renderer, results: results(false) }, event('stored-1', 'r-2'));
    expect(other.won).toBe(false);
    expect(creates).toEqual(['stored-1']);
    expect(await terminalEvents('stored-1')).toBe(1);
  });

  it('a retry whose first publish never arrived publishes it, once', async () => {
    const dead = {
      ...renderer,
      js: { ...renderer.js, publish: () => Promise.reject(new Error('node died')) },
    };
    await expect(settleJob(dead as Farm, event('never-sent-1'))).rejects.toThrow('node died');
    const retry = watched(renderer);
    expect((await settleJob(retry.farm, event('never-sent-1'))).won).toBe(true);
    expect(retry.sent).toEqual([terminalEventSubject('never-sent-1')]);
    expect(await terminalEvents('never-sent-1')).toBe(1);
  });

  it('renderer and scheduler credentials may ask the stream, and only a missing event is sent', async () => {
    for (const [who, farm] of [
      ['renderer', renderer],
      ['scheduler', scheduler],
    ] as const) {
      const id = `missing-${who}`;
      const w = watched(farm);
      expect(await publishMissingTerminalEvent(w.farm, event(id))).toBe(true);
      expect(await publishMissingTerminalEvent(w.farm, event(id))).toBe(false);
      expect(w.sent).toHaveLength(1);
      expect(await terminalEvents(id)).toBe(1);
    }
  });

  it('a blind repeat is what the stream refuses (what the check avoids sending)', async () => {
    expect(await publishJobEvent(renderer, event('blind-1'))).toBe(true);
    // Within the duplicate window the message id answers; with another id the expected sequence does.
    expect(await publishJobEvent(renderer, event('blind-1'))).toBe(false);
    const refused = await renderer.js
      .publish(terminalEventSubject('blind-1'), new Uint8Array(1), { expect: { lastSubjectSequence: 0 } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(JetStreamApiError);
    expect((refused as Error).message).toMatch(/wrong last sequence: [1-9]/);
  });
});
