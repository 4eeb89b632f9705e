/**
 * A pure reducer from job events to what a viewer shows (the bot's progress message, the CLI's
 * progress bar). Delivery is at-least-once, so a killed renderer's late frames can arrive after
 * a newer attempt started: events of an older attempt than the newest seen are stale and dropped.
 */
import type { JobEvent, TerminalJobEvent } from './contracts.js';

export interface JobView {
  jobId: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  /** Newest delivery attempt seen (0 before `started`). */
  attempt: number;
  rendererId?: string;
  step: number;
  total?: number;
  itPerSec?: number;
  /** base64 WebP of the newest frame of the current attempt. */
  frame?: string;
  result?: TerminalJobEvent;
}

export function initialJobView(jobId: string): JobView {
  return { jobId, status: 'queued', attempt: 0, step: 0 };
}

/** True when `event` belongs to an older delivery attempt than the view has seen. */
export function isStaleEvent(view: JobView, event: JobEvent): boolean {
  if (event.type === 'progress' || event.type === 'started') return event.attempt < view.attempt;
  return false;
}

/** Applies one event; returns the same object when the event changes nothing (stale or late). */
export function reduceJobView(view: JobView, event: JobEvent): JobView {
  if (event.jobId !== view.jobId) return view;
  // Once ended, a job stays ended: nothing after the terminal event changes it.
  if (view.result) return view;
  if (isStaleEvent(view, event)) return view;
  switch (event.type) {
    case 'queued':
      return view;
    case 'started':
      // A new attempt starts over: its frames replace the old attempt's.
      return {
        ...view,
        status: 'running',
        attempt: event.attempt,
        rendererId: event.rendererId,
        step: 0,
        total: event.total ?? view.total,
        frame: undefined,
      };
    case 'progress': {
      const newer = event.attempt > view.attempt;
      if (!newer && event.step < view.step) return view;
      return {
        ...view,
        status: 'running',
        attempt: event.attempt,
        step: event.step,
        total: event.total,
        itPerSec: event.itPerSec,
        frame: event.frame ?? (newer ? undefined : view.frame),
        rendererId: event.rendererId ?? view.rendererId,
      };
    }
    case 'done':
      return { ...view, status: 'done', step: view.total ?? view.step, result: event };
    case 'failed':
      return { ...view, status: 'failed', result: event };
    case 'cancelled':
      return { ...view, status: 'cancelled', result: event };
  }
}
