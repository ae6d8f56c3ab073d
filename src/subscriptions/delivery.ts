/**
 * Delivery workers. Hand-made rather than graphile-worker or pg-boss: what
 * must hold is per-subscription order with a gap-free shared counter, which
 * those libraries' independent jobs do not give (a job per event would need
 * serialising per subscription anyway), so the queue is the subscription row:
 * an instance claims a subscription with something due (`FOR UPDATE SKIP
 * LOCKED` and a lease): the handshake of a new or reactivated subscription
 * first, then its events one by one in eventNumber order, stopping at the
 * first failure and rescheduling with backoff, or else a heartbeat when
 * nothing was sent for its period. Every attempt is recorded and audited. A crash leaves the lease to
 * expire and another instance resends what was not marked delivered
 * (at-least-once); normally each event is sent once.
 */
import { lookup } from 'node:dns/promises';
import { randomUUID } from 'node:crypto';
import type { Bundle, Resource, Subscription } from '@medplum/fhirtypes';
import { sql, type RawBuilder } from 'kysely';
import { persist } from '../fhir/persist.ts';
import { stamp } from '../fhir/versioning.ts';
import type { FhirContext } from '../fhir/types.ts';
import { parseContent } from '../referral/referral-store.ts';
import { prepared } from '../store/prepared.ts';
import { readCurrent, readVersion, type Db } from '../store/resource-store.ts';
import { givesUp, retryDelay, type RetryPolicy } from './backoff.ts';
import { isForbiddenAddress, type EndpointPolicy } from './endpoint.ts';
import { fanOut } from './fan-out.ts';
import { notificationBundle, sign, signatureHeader, type NotifiedEvent } from './notification.ts';
import { deliveryAuditRow, type DeliveredSubject } from './delivery-audit.ts';
import type { OwnerClaims } from './registry.ts';
import { planSubscription, type SubscriptionPlan } from './subscription-rules.ts';
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
  owner: OwnerClaims;
  secret: string | null;
  base_url: string;
  events_since_start: string;
  failures: number;
  failing_since: Date | null;
  handshake_pending: boolean;
  heartbeat_due: boolean;
}

interface EventRow {
  event_number: string;
  resource_type: string;
  resource_id: string;
  version_id: number;
  topic: string;
  created: Date;
}

const fanOutBatch = 200;

type Kind = 'handshake' | 'heartbeat' | 'event-notification';
type PostResult = { ok: boolean; status?: number; detail?: string };

export class SubscriptionWorker {
  readonly instance = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The last fan-out found rows: the next one skips the probe. */
  private busy = false;

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

  /** One round: fan out what was written, then deliver what is due (more lanes only once one found work: an idle poll is one claim). */
  async tick(): Promise<void> {
    // One batch per poll (what the last pollMs wrote), more only while batches come full: small batches would pay
    // the batch's fixed cost (its round trips, the subscriptions' list) for a few rows each.
    let busy = this.busy;
    for (;;) {
      const n = await fanOut(this.db, { ...this.ctx, baseUrl: '' }, this.options.endpoints, fanOutBatch, !busy);
      busy = n > 0;
      if (n < fanOutBatch || this.stopped) break;
    }
    this.busy = busy;
    const first = await this.claim();
    if (!first) return;
    await Promise.all(Array.from({ length: this.options.lanes }, (_, i) => this.lane(i === 0 ? first : undefined)));
  }

  private async lane(first: Claimed | undefined): Promise<void> {
    for (let claimed = first ?? (await this.claim()); claimed && !this.stopped; claimed = await this.claim()) {
      try {
        await this.deliver(claimed);
      } catch (err) {
        // E.g. the endpoint no longer allowed: retried later like a failed attempt, not at once in a loop.
        this.log(err, 'subscription delivery failed');
        await sql`UPDATE subscription_state SET failures = failures + 1, next_attempt = now() + ${`${retryDelay(claimed.failures + 1, this.options.retry)} milliseconds`}::interval WHERE subscription_id = ${claimed.subscription_id}`.execute(this.db);
      } finally {
        await sql`UPDATE subscription_state SET lease_until = NULL, lease_owner = NULL WHERE subscription_id = ${claimed.subscription_id} AND lease_owner = ${this.instance}`.execute(this.db);
      }
    }
  }

  /**
   * A subscription with something due: a handshake, undelivered events, or a
   * heartbeat (nothing sent for its period). The lease makes one instance
   * send it, so no two instances send the same heartbeat.
   */
  private async claim(): Promise<Claimed | undefined> {
    const { rows } = await sql<Claimed>`${prepared}
      UPDATE subscription_state SET lease_until = now() + ${`${this.options.leaseMs} milliseconds`}::interval, lease_owner = ${this.instance}
      WHERE subscription_id = (
        SELECT s.subscription_id FROM subscription_state s
        WHERE s.active AND s.next_attempt <= now() AND (s.lease_until IS NULL OR s.lease_until < now())
          AND (s.handshake_pending
            OR s.last_sent + make_interval(secs => s.heartbeat_seconds) <= now()
            -- once per claim (a hashed subplan over the partial index of undelivered events), not once per subscription
            OR s.subscription_id IN (SELECT e.subscription_id FROM subscription_event e WHERE e.delivered IS NULL))
        ORDER BY s.next_attempt LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING subscription_id, owner, secret, base_url, events_since_start, failures, failing_since, handshake_pending,
        coalesce(last_sent + make_interval(secs => heartbeat_seconds) <= now(), false) AS heartbeat_due`.execute(this.db);
    return rows[0];
  }

  private async deliver(c: Claimed): Promise<void> {
    const current = await readCurrent(this.db, 'Subscription', c.subscription_id);
    const subscription = parseContent<Subscription>(current?.deleted ? null : current?.content);
    if (!subscription) return;
    const plan = planSubscription(subscription, this.options.endpoints);
    const subscriptionUrl = `${c.base_url}/Subscription/${c.subscription_id}`;
    const count = Number(c.events_since_start);
    if (c.handshake_pending) {
      const now = new Date();
      const bundle = notificationBundle({ subscriptionUrl, topic: plan.topic?.url, status: subscription.status, type: 'handshake', eventsSinceSubscriptionStart: count, events: [] }, plan.content, c.base_url, now);
      const result = await this.post(plan, c.secret, bundle);
      const subject = { resourceType: 'Subscription', id: c.subscription_id, patients: [] };
      if (!result.ok) {
        // Backport IG: a failed handshake puts the subscription in error; its events stay numbered for $events or a later reactivation.
        const error = `Handshake fallido / Handshake failed: ${result.detail ?? `HTTP ${result.status ?? '?'}`}`;
        await this.record(c, plan.endpoint, 'handshake', count, now, result, bundle, subject, [sql`UPDATE subscription_state SET active = false, handshake_pending = false, error = ${error}, last_sent = ${now} WHERE subscription_id = ${c.subscription_id}`]);
        await this.markStatus(c.subscription_id, 'error', error);
        return;
      }
      await this.record(c, plan.endpoint, 'handshake', count, now, result, bundle, subject, [
        sql`UPDATE subscription_state SET handshake_pending = false, failures = 0, failing_since = NULL, error = NULL, last_sent = ${now} WHERE subscription_id = ${c.subscription_id}`,
      ]);
      if (subscription.status === 'requested') await this.markStatus(c.subscription_id, 'active');
    }
    const { rows: events } = await sql<EventRow>`
      SELECT event_number, resource_type, resource_id, version_id, topic, created FROM subscription_event
      WHERE subscription_id = ${c.subscription_id} AND delivered IS NULL ORDER BY event_number LIMIT 50`.execute(this.db);
    for (const e of events) {
      if (this.stopped) return;
      const { notified, patients } = await this.notifiedEvent(e);
      const now = new Date();
      const bundle = notificationBundle({ subscriptionUrl, topic: plan.topic?.url, status: 'active', type: 'event-notification', eventsSinceSubscriptionStart: Number(e.event_number), events: [notified] }, plan.content, c.base_url, now);
      const result = await this.post(plan, c.secret, bundle);
      const subject = { resourceType: e.resource_type, id: e.resource_id, versionId: e.version_id, patients };
      if (result.ok) {
        await this.record(c, plan.endpoint, 'event-notification', e.event_number, now, result, bundle, subject, [
          sql`UPDATE subscription_event SET delivered = now() WHERE subscription_id = ${c.subscription_id} AND event_number = ${e.event_number}`,
          sql`UPDATE subscription_state SET delivered_through = ${e.event_number}, failures = 0, failing_since = NULL, error = NULL, last_sent = ${now} WHERE subscription_id = ${c.subscription_id}`,
        ]);
        continue;
      }
      const failed = this.failure(c, result, now);
      await this.record(c, plan.endpoint, 'event-notification', e.event_number, now, result, bundle, subject, [failed.then]);
      if (failed.error) await this.markStatus(c.subscription_id, 'error', failed.error);
      return;
    }
    if (events.length === 0 && !c.handshake_pending && c.heartbeat_due) {
      const now = new Date();
      const bundle = notificationBundle({ subscriptionUrl, topic: plan.topic?.url, status: 'active', type: 'heartbeat', eventsSinceSubscriptionStart: count, events: [] }, plan.content, c.base_url, now);
      const result = await this.post(plan, c.secret, bundle);
      const subject = { resourceType: 'Subscription', id: c.subscription_id, patients: [] };
      const failed = result.ok ? undefined : this.failure(c, result, now);
      const after = failed?.then ?? sql`UPDATE subscription_state SET failures = 0, failing_since = NULL, error = NULL, last_sent = ${now} WHERE subscription_id = ${c.subscription_id}`;
      await this.record(c, plan.endpoint, 'heartbeat', count, now, result, bundle, subject, [after]);
      if (failed?.error) await this.markStatus(c.subscription_id, 'error', failed.error);
    }
  }

  /**
   * The attempt row, its AuditEvent (when the server audits) and the state
   * change it implies, in one statement: a recorded attempt is always audited.
   */
  private async record(c: Claimed, endpoint: string, kind: Kind, eventNumber: number | string, now: Date, result: PostResult, bundle: Bundle, subject: DeliveredSubject, then: RawBuilder<unknown>[]): Promise<void> {
    const statements = [
      sql`INSERT INTO subscription_attempt (subscription_id, event_number, attempted, outcome, http_status, detail, instance, kind)
        VALUES (${c.subscription_id}, ${eventNumber}, ${now}, ${result.ok ? 'delivered' : 'failed'}, ${result.status ?? null}, ${result.detail ?? null}, ${this.instance}, ${kind})`,
      ...then,
    ];
    const ctes = statements.map((s, i) => sql`${sql.id(`d${i}`)} AS (${s} RETURNING 1)`);
    const audit = this.ctx.auditTrail ? sql`audit_append(${JSON.stringify([deliveryAuditRow(c, kind, now, result, bundle, subject, endpoint)])}::jsonb, true)` : sql`NULL`;
    await sql`WITH ${sql.join(ctes)} SELECT ${audit}`.execute(this.db);
  }

  private async notifiedEvent(e: EventRow): Promise<{ notified: NotifiedEvent; patients: string[] }> {
    const version = await readVersion(this.db, e.resource_type, e.resource_id, e.version_id);
    const interaction: EventFacts['interaction'] = version?.deleted ? 'delete' : e.version_id === 1 ? 'create' : 'update';
    return {
      notified: { eventNumber: Number(e.event_number), timestamp: e.created.toISOString(), resourceType: e.resource_type, id: e.resource_id, interaction, resource: parseContent<Resource>(version?.content) },
      patients: version?.patients ?? [],
    };
  }

  /**
   * The state change of a failed attempt: one more failure and the next try
   * after a backoff with jitter or, past the retry window, `error` with the
   * reason (returned, for the Subscription's new version).
   */
  private failure(c: Claimed, result: PostResult, now: Date): { then: RawBuilder<unknown>; error?: string } {
    const failures = c.failures + 1;
    const since = c.failing_since ?? now;
    if (givesUp(since, now, this.options.retry)) {
      const error = `Entrega fallida desde ${since.toISOString()} / Delivery failing since ${since.toISOString()}: ${result.detail ?? `HTTP ${result.status ?? '?'}`}`;
      return { then: sql`UPDATE subscription_state SET active = false, error = ${error}, failures = ${failures}, last_sent = ${now} WHERE subscription_id = ${c.subscription_id}`, error };
    }
    const next = new Date(now.getTime() + retryDelay(failures, this.options.retry));
    return { then: sql`UPDATE subscription_state SET failures = ${failures}, failing_since = ${since}, next_attempt = ${next}, last_sent = ${now} WHERE subscription_id = ${c.subscription_id}` };
  }

  /**
   * A new version of the Subscription with the status the server gives it
   * (`active` after a handshake, `error` with the reason), written like any
   * other (indexes, audit; its history row is an event like any); not when the client changed it meanwhile.
   */
  private async markStatus(id: string, status: 'active' | 'error', reason?: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await readCurrent(this.db, 'Subscription', id);
      const s = parseContent<Subscription>(current?.deleted ? null : current?.content);
      if (!current || !s) return;
      if (status === 'active' ? s.status !== 'requested' : s.status !== 'requested' && s.status !== 'active') return;
      const { error: _previous, ...rest } = s;
      const next = status === 'error' ? { ...rest, status, error: reason } : { ...rest, status };
      const stored = stamp(next, id, current.versionId + 1, new Date());
      if (await persist({ ...this.ctx, baseUrl: '', actor: undefined, audit: undefined }, stored, current)) return;
    }
  }

  private async post(plan: SubscriptionPlan, secret: string | null, bundle: Bundle): Promise<PostResult> {
    const { endpoint, headers } = plan;
    const body = JSON.stringify(bundle);
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
