/**
 * When to try a failing endpoint again: exponential backoff with full jitter
 * (so many subscriptions failing together do not retry in step), capped per
 * attempt, until the endpoint has been failing for `giveUpAfterMs` (default
 * 24 h; HAPI gives up after about a minute and drops the notification).
 */
export interface RetryPolicy {
  baseMs: number;
  maxDelayMs: number;
  giveUpAfterMs: number;
}

export const defaultRetry: RetryPolicy = { baseMs: 1000, maxDelayMs: 60 * 60 * 1000, giveUpAfterMs: 24 * 60 * 60 * 1000 };

/** Delay before attempt `failures + 1`; `random` in [0, 1). Never below half the exponential step, so retries do not collapse to zero. */
export function retryDelay(failures: number, policy: RetryPolicy, random: number = Math.random()): number {
  const step = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(step / 2 + (step / 2) * random);
}

export function givesUp(failingSince: Date, now: Date, policy: RetryPolicy): boolean {
  return now.getTime() - failingSince.getTime() >= policy.giveUpAfterMs;
}
