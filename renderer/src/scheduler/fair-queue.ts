/**
 * Hierarchical weighted fair queuing, pure: servers first (operator weights), then members within a
 * server (role weights), then each member's jobs in arrival order.
 *
 * Each level is start-time fair queuing (Goyal et al., SFQ): every flow (a server, or a member
 * within a server) has a virtual time, the service it has had divided by its weight. The next job
 * comes from the active flow with the smallest virtual time; it is then charged `cost / weight`.
 * A flow that was idle re-enters at the level's current virtual time (the start tag of the job last
 * picked), so idling earns no credit and a newcomer waits for at most one pick per active flow: no
 * starvation, and shares converge to the weights. The cost of a job is its step count, so shares are
 * of renderer time, not of job counts.
 */

export interface FairJob {
  jobId: string;
  /** Discord server (guild) id; CLI and DM jobs share one pseudo-server. */
  server: string;
  member: string;
  /** The member's weight within the server (role weights); default 1. */
  memberWeight: number;
  /** Renderer time in any unit proportional to it: the step count. */
  cost: number;
  /** Arrival order (the intake stream sequence): ties and each member's own order. */
  seq: number;
}

export interface FairQueueOptions {
  /** The operator's weight of a server (read at every pick, so changes apply at once). */
  serverWeight(server: string): number;
  /** Jobs one member may have released and unfinished at once; 0 = no limit. */
  memberMaxRunning?: number;
  /**
   * Service (cost units, before weighting) a server that becomes active may be behind the others:
   * a quiet server's first few jobs go out back to back instead of alternating with a flood. Bounded,
   * so idling still earns no more than this. Default 0 (plain SFQ).
   */
  activationCredit?: () => number;
}

interface MemberFlow {
  id: string;
  vtime: number;
  weight: number;
  jobs: FairJob[];
  running: number;
}

interface ServerFlow {
  id: string;
  vtime: number;
  /** The level's virtual time among this server's members. */
  memberV: number;
  members: Map<string, MemberFlow>;
  queued: number;
  running: number;
}

export interface ServerSummary {
  server: string;
  weight: number;
  queued: number;
  running: number;
}

export class FairQueue {
  readonly #options: FairQueueOptions;
  readonly #servers = new Map<string, ServerFlow>();
  readonly #byId = new Map<string, FairJob>();
  /** Released and not yet finished: jobId → its job (for running counts). */
  readonly #running = new Map<string, FairJob>();
  #serverV = 0;

  constructor(options: FairQueueOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#byId.size;
  }

  has(jobId: string): boolean {
    return this.#byId.has(jobId);
  }

  get(jobId: string): FairJob | undefined {
    return this.#byId.get(jobId);
  }

  /** Whether the job was released (picked by `next`) and has not finished. */
  isOut(jobId: string): boolean {
    return this.#running.has(jobId);
  }

  /** Queues a job (a repeat of a queued or running job id is ignored; returns whether it was added). */
  add(job: FairJob): boolean {
    if (this.#byId.has(job.jobId) || this.#running.has(job.jobId)) return false;
    let server = this.#servers.get(job.server);
    const entry = this.#serverV - (this.#options.activationCredit?.() ?? 0) / this.#serverWeight(job.server);
    if (!server) {
      server = {
        id: job.server,
        vtime: entry,
        memberV: 0,
        members: new Map(),
        queued: 0,
        running: 0,
      };
      this.#servers.set(job.server, server);
    } else if (server.queued === 0) {
      server.vtime = Math.max(server.vtime, entry);
    }
    let member = server.members.get(job.member);
    if (!member) {
      member = { id: job.member, vtime: server.memberV, weight: job.memberWeight, jobs: [], running: 0 };
      server.members.set(job.member, member);
    } else if (member.jobs.length === 0) {
      member.vtime = Math.max(member.vtime, server.memberV);
    }
    member.weight = job.memberWeight;
    // One copy of each server and member id, whatever the number of their jobs queued.
    const kept: FairJob = { ...job, server: server.id, member: member.id };
    // Arrival order within a member; a rebuilt queue may see sequences out of order.
    let at = member.jobs.length;
    while (at > 0 && member.jobs[at - 1]!.seq > kept.seq) at -= 1;
    member.jobs.splice(at, 0, kept);
    server.queued += 1;
    this.#byId.set(kept.jobId, kept);
    return true;
  }

  /** Takes a queued job out without releasing it (cancelled, or ended elsewhere). */
  remove(jobId: string): FairJob | undefined {
    const job = this.#byId.get(jobId);
    if (!job) return undefined;
    const server = this.#servers.get(job.server);
    const member = server?.members.get(job.member);
    if (server && member) {
      member.jobs.splice(member.jobs.indexOf(job), 1);
      server.queued -= 1;
      this.#forget(server, member);
    }
    this.#byId.delete(jobId);
    return job;
  }

  /**
   * Picks the next job to release and charges its flows; it counts as running until `finished`.
   * Members at their running limit are passed over. Undefined when nothing is eligible.
   */
  next(): FairJob | undefined {
    const limit = this.#options.memberMaxRunning ?? 0;
    const eligible = (m: MemberFlow): boolean => m.jobs.length > 0 && (limit === 0 || m.running < limit);
    let bestServer: ServerFlow | undefined;
    let bestMember: MemberFlow | undefined;
    for (const server of this.#servers.values()) {
      if (server.queued === 0) continue;
      if (bestServer && !before(server, bestServer)) continue;
      const member = pickMember(server.members.values(), eligible);
      if (!member) continue;
      bestServer = server;
      bestMember = member;
    }
    if (!bestServer || !bestMember) return undefined;
    const job = bestMember.jobs.shift() as FairJob;
    this.#serverV = bestServer.vtime;
    bestServer.memberV = bestMember.vtime;
    bestServer.vtime += job.cost / this.#serverWeight(bestServer.id);
    bestMember.vtime += job.cost / bestMember.weight;
    bestServer.queued -= 1;
    bestServer.running += 1;
    bestMember.running += 1;
    this.#byId.delete(job.jobId);
    this.#running.set(job.jobId, job);
    return job;
  }

  /** A released job ended (or a renderer took it and the limit counts only queued work). */
  finished(jobId: string): void {
    const job = this.#running.get(jobId);
    if (!job) return;
    this.#running.delete(jobId);
    const server = this.#servers.get(job.server);
    const member = server?.members.get(job.member);
    if (!server || !member) return;
    server.running -= 1;
    member.running -= 1;
    this.#forget(server, member);
  }

  get running(): number {
    return this.#running.size;
  }

  /**
   * The order in which the queued jobs would be released if nothing else arrived (running limits
   * aside): the honest queue position is the index in it. Does not change the queue.
   */
  order(): FairJob[] {
    const servers = [...this.#servers.values()]
      .filter((s) => s.queued > 0)
      .map((s) => ({
        vtime: s.vtime,
        weight: this.#serverWeight(s.id),
        members: [...s.members.values()]
          .filter((m) => m.jobs.length > 0)
          .map((m) => ({ vtime: m.vtime, weight: m.weight, jobs: m.jobs, next: 0 })),
      }));
    const out: FairJob[] = [];
    for (;;) {
      let best: (typeof servers)[number] | undefined;
      for (const s of servers) {
        if (s.members.length === 0) continue;
        if (
          !best ||
          s.vtime < best.vtime ||
          (s.vtime === best.vtime && headSeq(s.members) < headSeq(best.members))
        )
          best = s;
      }
      if (!best) return out;
      let bm = best.members[0]!;
      for (const m of best.members) {
        const seq = m.jobs[m.next]!.seq;
        if (m.vtime < bm.vtime || (m.vtime === bm.vtime && seq < bm.jobs[bm.next]!.seq)) bm = m;
      }
      const job = bm.jobs[bm.next++]!;
      out.push(job);
      best.vtime += job.cost / best.weight;
      bm.vtime += job.cost / bm.weight;
      if (bm.next >= bm.jobs.length) best.members.splice(best.members.indexOf(bm), 1);
    }
  }

  /** Queued and running jobs per server, with the weight in force. */
  summary(): ServerSummary[] {
    return [...this.#servers.values()]
      .filter((s) => s.queued > 0 || s.running > 0)
      .map((s) => ({ server: s.id, weight: this.#serverWeight(s.id), queued: s.queued, running: s.running }));
  }

  #serverWeight(server: string): number {
    const w = this.#options.serverWeight(server);
    return Number.isFinite(w) && w > 0 ? w : 1;
  }

  /** Drops idle flows that are not ahead of their level (they would re-enter at the same place). */
  #forget(server: ServerFlow, member: MemberFlow): void {
    if (member.jobs.length === 0 && member.running === 0 && member.vtime <= server.memberV)
      server.members.delete(member.id);
    if (
      server.queued === 0 &&
      server.running === 0 &&
      server.vtime <= this.#serverV &&
      server.members.size === 0
    )
      this.#servers.delete(server.id);
  }
}

function headSeq(members: { jobs: FairJob[]; next: number }[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const m of members) min = Math.min(min, m.jobs[m.next]!.seq);
  return min;
}

/** Smaller virtual time first; ties go to the server whose oldest waiting job arrived first. */
function before(a: ServerFlow, b: ServerFlow): boolean {
  if (a.vtime !== b.vtime) return a.vtime < b.vtime;
  return oldest(a) < oldest(b);
}

function oldest(server: ServerFlow): number {
  let min = Number.POSITIVE_INFINITY;
  for (const m of server.members.values()) if (m.jobs.length > 0) min = Math.min(min, m.jobs[0]!.seq);
  return min;
}

function pickMember(
  members: Iterable<MemberFlow>,
  eligible: (m: MemberFlow) => boolean,
): MemberFlow | undefined {
  let best: MemberFlow | undefined;
  for (const m of members) {
    if (!eligible(m)) continue;
    if (!best || m.vtime < best.vtime || (m.vtime === best.vtime && m.jobs[0]!.seq < best.jobs[0]!.seq))
      best = m;
  }
  return best;
}
