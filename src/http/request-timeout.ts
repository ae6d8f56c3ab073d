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

/**
 * How long a request's database work may run: a statement less than the
 * request limit, so PostgreSQL gives up (and rolls back) first; a whole
 * transaction a little more, still before the HTTP answer.
 */
export function databaseTimeouts(requestTimeoutMs: number): { statementTimeoutMs?: number; transactionTimeoutMs?: number } {
  if (requestTimeoutMs <= 0) return {};
  const statementTimeoutMs = Math.max(100, requestTimeoutMs - Math.min(5000, Math.floor(requestTimeoutMs / 4)));
  return { statementTimeoutMs, transactionTimeoutMs: Math.floor((statementTimeoutMs + requestTimeoutMs) / 2) };
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
