/**
 * The request rate limit, one for the whole deployment (counted in
 * PostgreSQL, src/store/window-counter.ts): per verified token identity —
 * issuer and subject, whatever the spelling of the Authorization header or
 * the token itself — and per client address for requests without a valid
 * token (missing, malformed, expired, forged) and for public paths.
 */
import { createHash } from 'node:crypto';
import type { Actor } from '../auth/actor.ts';
import { FhirError, issue } from '../fhir/errors.ts';
import type { WindowCounter } from '../store/window-counter.ts';

export class RequestLimiter {
  readonly max: number;
  private readonly counter: WindowCounter;

  constructor(counter: WindowCounter, max: number) {
    this.counter = counter;
    this.max = max;
  }

  /** Counts the request; throws 429 (with Retry-After) once the key is over its limit in this window. */
  async enforce(key: string): Promise<void> {
    const { count, resetMs } = await this.counter.hit(key, this.max);
    if (count <= this.max) return;
    const seconds = Math.max(1, Math.ceil(resetMs / 1000));
    throw new FhirError(
      429,
      [issue('throttled', { es: `Demasiadas peticiones: límite de ${this.max} por minuto; reintente en ${seconds} s`, en: `Too many requests: limit of ${this.max} per minute; retry in ${seconds} s` })],
      { 'retry-after': String(seconds) },
    );
  }
}

/** Key of an authenticated caller (hashed: subjects need not sit in the table in clear). */
export function identityKey(actor: Actor): string {
  return `id:${createHash('sha256').update(`${actor.issuer ?? ''}\u0000${actor.subject}`).digest('base64url')}`;
}

export function addressKey(ip: string): string {
  return `ip:${ip}`;
}
