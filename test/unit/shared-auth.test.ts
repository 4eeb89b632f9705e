import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FARM_ROLES,
  cancelSubject,
  ensureCredentials,
  eventSubject,
  frameSubject,
  intakeSubject,
  jobSubject,
  queuedEventSubject,
  readNkeySeed,
  renderAuthConfig,
  rolePermissions,
  terminalEventSubject,
  type FarmRole,
} from '../../shared/src/index.js';

/** NATS subject matching: `*` one token, `>` the rest (at least one token). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
const mayPublish = (role: FarmRole, subject: string): boolean =>
  rolePermissions(role).publish.allow.some((p) => matches(p, subject));

describe('farm permissions table', () => {
  it.each([
    // The scheduler releases jobs from intake to the work queue.
    ['a job', jobSubject('tiny-shapes', 'j1'), ['bot', 'operator', 'scheduler']],
    ['a job for the scheduler', intakeSubject('tiny-shapes', 'j1'), ['bot', 'operator']],
    ['a cancel', cancelSubject('j1'), ['bot', 'operator']],
    ['a queued event', queuedEventSubject('j1'), ['bot', 'operator']],
    ['a lifecycle event', eventSubject('j1'), ['renderer']],
    ['a terminal event', terminalEventSubject('j1'), ['renderer', 'scheduler']],
    // Progress from renderers; queue positions from the scheduler.
    ['a frame', frameSubject('j1'), ['renderer', 'scheduler']],
    // The scheduler settles jobs cancelled (or invalid) in intake.
    ['a result', '$KV.tessera-results.j1', ['renderer', 'scheduler']],
    ['the scheduler lease', '$KV.tessera-scheduler.lease', ['scheduler']],
    ['a dispatch marker', '$KV.tessera-scheduler.dispatch.j1', ['scheduler']],
    ['the server weights', '$KV.tessera-scheduler.weights.servers', ['operator', 'scheduler']],
    ['an intake delete', '$JS.API.STREAM.MSG.DELETE.TESSERA_INTAKE', ['admin', 'renderer', 'scheduler']],
    ['a quota', '$KV.tessera-quotas.g.u', ['bot']],
    ['a guild setting', '$KV.tessera-guild-settings.g', ['bot']],
    ['a stream delete', '$JS.API.STREAM.DELETE.TESSERA_JOBS', ['admin']],
    ['a stream create', '$JS.API.STREAM.CREATE.TESSERA_JOBS', ['admin']],
    ['a jobs consumer create', '$JS.API.CONSUMER.CREATE.TESSERA_JOBS.renderer-x.tessera.jobs.x.*', ['admin']],
  ])('lets only the right roles publish %s', (_what, subject, allowed) => {
    const who = FARM_ROLES.filter((r) => mayPublish(r, subject));
    expect(who.sort()).toEqual([...allowed].sort());
  });

  it('gives each role its own reply subjects', () => {
    for (const role of FARM_ROLES) {
      const subs = rolePermissions(role).subscribe.allow;
      expect(subs).toContain(`_INBOX_${role}.>`);
      expect(subs.some((s) => matches(s, '_INBOX.abc'))).toBe(false);
    }
  });

  it('renders one nkey user per role and refuses something that is not a user key', () => {
    const keys = ['UA', 'UB', 'UC', 'UD', 'UE'].map((p) => p + 'A'.repeat(54));
    const conf = renderAuthConfig(FARM_ROLES.map((role, i) => ({ role, nkey: keys[i]! })));
    for (const k of keys) expect(conf).toContain(`nkey: ${k}`);
    // Renderers (cancel settling, service pings) and the scheduler (cancels of jobs in intake).
    expect(conf.match(/allow_responses: true/g)).toHaveLength(2);
    expect(() => renderAuthConfig([{ role: 'bot', nkey: 'tessera' }])).toThrow(/nkey/);
  });
});

describe('credentials on disk', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates owner-only seeds once, keeps them, and replaces them on rotation', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-creds-'));
    const creds = path.join(dir, 'credentials');
    const first = await ensureCredentials(creds);
    expect((await stat(creds)).mode & 0o777).toBe(0o700);
    for (const role of FARM_ROLES) {
      expect((await stat(first[role].seedFile)).mode & 0o777).toBe(0o600);
      expect((await readFile(first[role].seedFile, 'utf8')).startsWith('SU')).toBe(true);
      await readNkeySeed(first[role].seedFile);
    }
    const again = await ensureCredentials(creds);
    expect(again.bot.publicKey).toBe(first.bot.publicKey);
    const rotated = await ensureCredentials(creds, { regenerate: true });
    expect(rotated.bot.publicKey).not.toBe(first.bot.publicKey);
  });
});
