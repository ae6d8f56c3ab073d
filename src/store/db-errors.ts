/**
 * Which errors mean "the database is not there right now" (restart,
 * failover, network, overload, a statement cancelled by its timeout) rather
 * than a bug: those are answered 503 with Retry-After, and the pool replaces
 * the broken connections on its own, so the server recovers without a restart.
 */

/** SQLSTATE classes and codes: 08 connection exception, 57P0x shutdown/recovery, 53 insufficient resources, 57014 query cancelled (statement/transaction timeout), 40001/40P01 serialization/deadlock are not here: they are conflicts. */
const transientStates = /^(08|53|57P0[1-4]|57014|25P03|25P04|58030)/;

/** Cancelled by statement_timeout or transaction_timeout: the request ran past its time limit. */
export function isTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '57014' || code === '25P03' || code === '25P04';
}

const transientMessages = /Connection terminated|connection error|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed|terminating connection|the database system is (starting up|shutting down|in recovery mode)|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTCONN|Connection ended unexpectedly/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (transientStates.test(code) || /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NOTCONN|AI_AGAIN)$/.test(code))) return true;
  if (transientMessages.test(err.message)) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isDatabaseUnavailable(cause);
}

/** Seconds a client should wait before retrying while the database is unavailable. */
export const retryAfterSeconds = 5;
