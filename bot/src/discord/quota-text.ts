/** Friendly sentences about quotas. */
import type { QuotaRule } from '../core/guild-settings.js';
import { formatDuration, type ChargeRefusal } from '../core/quota.js';

export function describeRule(rule: QuotaRule): string {
  return `${rule.limit} render${rule.limit === 1 ? '' : 's'} per ${rule.per}`;
}

export function refusalText(refusal: ChargeRefusal): string {
  if (refusal.identifier === 'too-many-queued') {
    return `You already have ${refusal.queued} render${refusal.queued === 1 ? '' : 's'} waiting in the queue (this server allows ${refusal.max}). Nothing was charged; please try again once one has started. 🙏`;
  }
  if (refusal.identifier === 'too-many-running') {
    return `You already have ${refusal.running} render${refusal.running === 1 ? '' : 's'} running (this server allows ${refusal.max} at a time). Please wait for one to finish.`;
  }
  const { rule } = refusal;
  if (rule.limit === 0)
    return 'Renders are switched off for you on this server. A moderator can change that with `/quota`.';
  const window = rule.per === 'day' ? 'today' : 'this hour';
  return `You have used all ${describeRule(rule).replace(` per ${rule.per}`, '')} you get ${window}. Your quota refills in ${formatDuration(refusal.resetInMs)}. 🙏`;
}
