/**
 * Listens on the cancel subject: aborts the worker's running job within a second, and, as one
 * member of the settlers' queue group, answers each request by removing a job that is still
 * queued and settling it `cancelled` (submitters may not write results). A job queued when no
 * renderer answered is dropped by the cancellation marker a worker checks when it takes a job.
 */
import type { Logger } from 'pino';
import {
  CancelReply,
  CancelRequest,
  allCancelsSubject,
  cancelSettlersQueue,
  decodeMessage,
  encodeMessage,
  settleCancelRequest,
  type Farm,
  type Msg,
} from '../../../shared/src/index.js';

export interface Cancellable {
  cancel(request: CancelRequest): boolean;
}

function decodeCancel(msg: Msg, log: Logger): CancelRequest | undefined {
  const decoded = decodeMessage(CancelRequest, msg.data, { subject: msg.subject, name: 'cancel request' });
  if (decoded.ok) return decoded.value;
  log.warn({ subject: msg.subject, reason: decoded.error.message }, 'ignoring a malformed cancel request');
  return undefined;
}

export function startCancelListener(deps: { farm: Farm; worker: Cancellable; log: Logger }): {
  stop(): void;
} {
  const { farm, log } = deps;
  const running = farm.nc.subscribe(allCancelsSubject(), {
    callback: (err, msg) => {
      if (err) return log.warn({ err }, 'cancel subscription error');
      const cancel = decodeCancel(msg, log);
      if (cancel) deps.worker.cancel(cancel);
    },
  });
  const settlers = farm.nc.subscribe(allCancelsSubject(), {
    queue: cancelSettlersQueue(),
    callback: (err, msg) => {
      if (err) return log.warn({ err }, 'cancel settlers subscription error');
      const cancel = decodeCancel(msg, log);
      if (!cancel) return;
      void settleCancelRequest(farm, cancel).then(
        (reply) => msg.respond(encodeMessage(CancelReply, reply)),
        (e: unknown) => log.warn({ err: e, jobId: cancel.jobId }, 'could not settle a cancel request'),
      );
    },
  });
  return {
    stop: () => {
      running.unsubscribe();
      settlers.unsubscribe();
    },
  };
}
