/**
 * A request still unanswered after REQUEST_TIMEOUT_MS gets a 503
 * OperationOutcome instead of a dropped connection. Its writes cannot
 * commit after it: the API's connections carry a statement timeout a little
 * shorter than this one, so PostgreSQL cancels and rolls back a slow
 * statement first and the error handler answers (same 503), and a write
 * that starts late is bounded by the time left (fhir/deadline.ts). This
 * timer is the backstop for a request stuck elsewhere.
 */
import type { FastifyInstance } from 'fastify';
import { timedOut } from '../fhir/errors.ts';

/**
 * How long one statement of a request may run: less than the request limit,
 * so PostgreSQL gives up (and rolls back) first. A write that starts late
 * gets the time left instead (fhir/deadline.ts). No transaction_timeout: it
 * ends the session rather than the transaction.
 */
export function databaseTimeouts(requestTimeoutMs: number): { statementTimeoutMs?: number } {
  if (requestTimeoutMs <= 0) return {};
  return { statementTimeoutMs: Math.max(100, requestTimeoutMs - Math.min(5000, Math.floor(requestTimeoutMs / 4))) };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Epoch ms at which this request is answered 503 if it has not been answered yet. */
    deadlineAt?: number;
  }
}

export function registerRequestTimeout(app: FastifyInstance, ms: number): void {
  if (ms <= 0) return;
  app.decorateRequest('deadlineAt', undefined);
  // Callback hooks where nothing is awaited: an async hook costs a promise and a microtask turn per request.
  app.addHook('onRequest', (request, reply, done) => {
    request.deadlineAt = Date.now() + ms;
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      request.log.warn({ ms }, 'request timed out');
      void reply.send(timedOut(ms));
    }, ms);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
    done();
  });
}
