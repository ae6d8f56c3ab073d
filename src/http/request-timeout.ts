/**
 * A request still unanswered after REQUEST_TIMEOUT_MS gets a 503
 * OperationOutcome instead of a dropped connection. Its database work cannot
 * outlive it: the API's connections carry a statement and transaction
 * timeout a little shorter than this one (store/connect.ts), so PostgreSQL
 * cancels and rolls back the statement first and the error handler answers
 * (same 503); this timer is the backstop for a request stuck elsewhere.
 */
import type { FastifyInstance } from 'fastify';
import { timedOut } from '../fhir/errors.ts';

/** How long database work of a request may run: shorter than the request limit, so the database gives up first. */
export function databaseTimeoutMs(requestTimeoutMs: number): number {
  return Math.max(100, requestTimeoutMs - Math.min(5000, Math.floor(requestTimeoutMs / 4)));
}

export function registerRequestTimeout(app: FastifyInstance, ms: number): void {
  if (ms <= 0) return;
  app.addHook('onRequest', async (request, reply) => {
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      request.log.warn({ ms }, 'request timed out');
      void reply.send(timedOut(ms));
    }, ms);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
  });
}
