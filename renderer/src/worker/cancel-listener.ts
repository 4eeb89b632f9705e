/**
 * Listens on the cancel subject and aborts the worker's running job within a second. Jobs still
 * queued are removed by whoever asked (`requestCancel`) and by the cancellation marker a worker
 * checks when it takes a job.
 */
import type { Logger } from 'pino';
import {
  CancelRequest,
  allCancelsSubject,
  decodeMessage,
  type NatsConnection,
} from '../../../shared/src/index.js';

export interface Cancellable {
  cancel(request: CancelRequest): boolean;
}

export function startCancelListener(deps: { nc: NatsConnection; worker: Cancellable; log: Logger }): {
  stop(): void;
} {
  const sub = deps.nc.subscribe(allCancelsSubject(), {
    callback: (err, msg) => {
      if (err) {
        deps.log.warn({ err }, 'cancel subscription error');
        return;
      }
      const decoded = decodeMessage(CancelRequest, msg.data, {
        subject: msg.subject,
        name: 'cancel request',
      });
      if (!decoded.ok) {
        deps.log.warn(
          { subject: msg.subject, reason: decoded.error.message },
          'ignoring a malformed cancel request',
        );
        return;
      }
      deps.worker.cancel(decoded.value);
    },
  });
  return { stop: () => sub.unsubscribe() };
}
