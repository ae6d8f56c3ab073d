/**
 * Delivery workers. Hand-made rather than graphile-worker or pg-boss: what
 * must hold is per-subscription order with a gap-free shared counter, which
 * those libraries' independent jobs do not give (a job per event would need
 * serialising per subscription anyway), so the queue is the subscription row:
 * an instance claims a subscription with due events (`FOR UPDATE SKIP LOCKED`
 * and a lease), sends its events one by one in eventNumber order, and stops
 * at the first failure, rescheduling with backoff. A crash leaves the lease to
 * expire and another instance resends what was not marked delivered
 * (at-least-once); normally each event is sent once.
 */
import { lookup } from 'node:dns/promises';
import { randomUUID } from 'node:crypto';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { persist } from '../fhir/persist.ts';
import { stamp } from '../fhir/versioning.ts';
import type { FhirContext } from '../fhir/types.ts';
import { parseContent } from '../referral/referral-store.ts';
import { readCurrent, readVersion, type Db } from '../store/resource-store.ts';
import { givesUp, retryDelay, type RetryPolicy } from './backoff.ts';
import { isForbiddenAddress, type EndpointPolicy } from './endpoint.ts';
import { fanOut } from './fan-out.ts';
import { notificationBundle, sign, signatureHeader, type NotifiedEvent } from './notification.ts';
import { planSubscription } from './subscription-rules.ts';
import type { EventFacts } from './topics.ts';

export interface WorkerOptions {
  pollMs: number;
  leaseMs: number;
  requestTimeoutMs: number;
  retry: RetryPolicy;
  endpoints: EndpointPolicy;
  /** Subscriptions delivered in parallel by one instance. */
  lanes: number;
}

interface Claimed {
  subscription_id: string;
  secret: string | null;
  base_url: string;
  events_since_start: string;
  failures: number;
  failing_since: Date | null;
}

interface EventRow {
  event_number: string;
  resource_type: string;
  resource_id: string;
  version_id: number;
  topic: string;
  created: Date;
}

export class SubscriptionWorker {
  readonly instance = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  private readonly db: Db;
  private readonly ctx: Omit<FhirContext, 'baseUrl'>;
  private readonly options: WorkerOptions;
  private readonly log: (err: unknown, message: string) => void;

  constructor(db: Db, ctx: Omit<FhirContext, 'baseUrl'>, options: WorkerOptions, log: (err: unknown, message: string) => void) {
    this.db = db;
    this.ctx = ctx;
    this.options = options;
    this.log = log;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err: unknown) => this.log(err, 'subscription worker tick failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round: fan out what was written, then deliver what is due. */
  async tick(): Promise<void> {
    while ((await fanOut(this.db, { ...this.ctx, baseUrl: '' }, this.options.endpoints)) > 0 && !this.stopped);
    await Promise.all(Array.from({ length: this.options.lanes }, () => this.lane()));
  }

  private async lane(): Promise<void> {
    for (let claimed = await this.claim(); claimed && !this.stopped; claimed = await this.claim()) {
      try {
        await this.deliver(claimed);
      } finally {
        await sql`UPDATE subscription_state SET lease_until = NULL, lease_owner = NULL WHERE subscription_id = ${claimed.subscription_id} AND lease_owner = ${this.instance}`.execute(this.db);
      }
    }
  }

  private async claim(): Promise<Claimed | undefined> {
    const { rows } = await sql<Claimed>`
      UPDATE subscription_state SET lease_until = now() + ${`${this.options.leaseMs} milliseconds`}::interval, lease_owner = ${this.instance}
      WHERE subscription_id = (
        SELECT s.subscription_id FROM subscription_state s
        WHERE s.active AND s.next_attempt <= now() AND (s.lease_until IS NULL OR s.lease_until < now())
          AND EXISTS (SELECT 1 FROM subscription_event e WHERE e.subscription_id = s.subscription_id AND e.delivered IS NULL)
        ORDER BY s.next_attempt LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING subscription_id, secret, base_url, events_since_start, failures, failing_since`.execute(this.db);
    return rows[0];
  }

  private async deliver(c: Claimed): Promise<void> {
    const current = await readCurrent(this.db, 'Subscription', c.subscription_id);
    const subscription = parseContent<Subscription>(current?.deleted ? null : current?.content);
    if (!subscription) return;
    const plan = planSubscription(subscription, this.options.endpoints);
    const { rows: events } = await sql<EventRow>`
      SELECT event_number, resource_type, resource_id, version_id, topic, created FROM subscription_event
      WHERE subscription_id = ${c.subscription_id} AND delivered IS NULL ORDER BY event_number LIMIT 50`.execute(this.db);
    for (const e of events) {
      if (this.stopped) return;
      const notified = await this.notifiedEvent(e);
      const now = new Date();
      const bundle = notificationBundle(
        { subscriptionUrl: `${c.base_url}/Subscription/${c.subscription_id}`, topic: plan.topic?.url, status: 'active', type: 'event-notification', eventsSinceSubscriptionStart: Number(e.event_number), events: [notified] },
        plan.content,
        c.base_url,
        now,
      );
      const result = await this.post(plan.endpoint, plan.headers, c.secret, JSON.stringify(bundle));
      await sql`INSERT INTO subscription_attempt (subscription_id, event_number, attempted, outcome, http_status, detail, instance)
        VALUES (${c.subscription_id}, ${e.event_number}, ${now}, ${result.ok ? 'delivered' : 'failed'}, ${result.status ?? null}, ${result.detail ?? null}, ${this.instance})`.execute(this.db);
      if (result.ok) {
        await sql`UPDATE subscription_event SET delivered = now() WHERE subscription_id = ${c.subscription_id} AND event_number = ${e.event_number}`.execute(this.db);
        await sql`UPDATE subscription_state SET delivered_through = ${e.event_number}, failures = 0, failing_since = NULL, error = NULL WHERE subscription_id = ${c.subscription_id}`.execute(this.db);
        continue;
      }
      await this.failed(c, result.detail ?? `HTTP ${result.status ?? '?'}`, now);
      return;
    }
  }

  private async notifiedEvent(e: EventRow): Promise<NotifiedEvent> {
    const version = await readVersion(this.db, e.resource_type, e.resource_id, e.version_id);
    const interaction: EventFacts['interaction'] = version?.deleted ? 'delete' : e.version_id === 1 ? 'create' : 'update';
    return { eventNumber: Number(e.event_number), timestamp: e.created.toISOString(), resourceType: e.resource_type, id: e.resource_id, interaction, resource: parseContent<Resource>(version?.content) };
  }

  private async failed(c: Claimed, reason: string, now: Date): Promise<void> {
    const failures = c.failures + 1;
    const since = c.failing_since ?? now;
    if (givesUp(since, now, this.options.retry)) {
      const error = `Entrega fallida desde ${since.toISOString()} / Delivery failing since ${since.toISOString()}: ${reason}`;
      await sql`UPDATE subscription_state SET active = false, error = ${error}, failures = ${failures} WHERE subscription_id = ${c.subscription_id}`.execute(this.db);
      await this.markError(c.subscription_id, error);
      return;
    }
    const delay = retryDelay(failures, this.options.retry);
    await sql`UPDATE subscription_state SET failures = ${failures}, failing_since = ${since}, next_attempt = ${new Date(now.getTime() + delay)} WHERE subscription_id = ${c.subscription_id}`.execute(this.db);
  }

  /** Subscription.status = error with the reason, as a new version (written like any other: indexes, outbox). */
  private async markError(id: string, reason: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await readCurrent(this.db, 'Subscription', id);
      const s = parseContent<Subscription>(current?.deleted ? null : current?.content);
      if (!current || !s) return;
      const stored = stamp({ ...s, status: 'error', error: reason }, id, current.versionId + 1, new Date());
      if (await persist({ ...this.ctx, baseUrl: '', actor: undefined, audit: undefined }, stored, current)) return;
    }
  }

  private async post(endpoint: string, headers: Record<string, string>, secret: string | null, body: string): Promise<{ ok: boolean; status?: number; detail?: string }> {
    try {
      const url = new URL(endpoint);
      const { address } = await lookup(url.hostname.replace(/^\[|\]$/g, ''));
      if (isForbiddenAddress(address)) return { ok: false, detail: `refused: ${url.hostname} resolves to ${address}` };
      const all: Record<string, string> = { ...headers, 'content-type': 'application/fhir+json' };
      if (secret) all[signatureHeader] = sign(secret, body, Math.floor(Date.now() / 1000));
      const res = await fetch(endpoint, { method: 'POST', headers: all, body, redirect: 'manual', signal: AbortSignal.timeout(this.options.requestTimeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status, detail: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? `${err.name}: ${(err as { cause?: { code?: string } }).cause?.code ?? err.message}` : String(err) };
    }
  }
}
