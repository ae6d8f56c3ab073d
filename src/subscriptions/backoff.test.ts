import { expect, test } from 'vitest';
import { defaultRetry, givesUp, retryDelay } from './backoff.ts';

test('delays double per failure with jitter in the upper half of the step, capped', () => {
  const p = { baseMs: 1000, maxDelayMs: 8000, giveUpAfterMs: 60_000 };
  expect(retryDelay(1, p, 0)).toBe(500);
  expect(retryDelay(1, p, 0.999)).toBeLessThanOrEqual(1000);
  expect(retryDelay(3, p, 0)).toBe(2000);
  expect(retryDelay(20, p, 1)).toBe(8000);
  expect(retryDelay(10_000, p, 0.5)).toBe(6000);
});

test('gives up only after failing for the whole window (24 h by default)', () => {
  const since = new Date('2026-12-01T00:00:00Z');
  expect(givesUp(since, new Date('2026-12-01T23:59:59Z'), defaultRetry)).toBe(false);
  expect(givesUp(since, new Date('2026-12-02T00:00:00Z'), defaultRetry)).toBe(true);
});
