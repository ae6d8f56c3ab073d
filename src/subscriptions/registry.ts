/**
 * Subscription resources and the server's state behind them. The stamp takes
 * the signing secret out of the version (kept only in `subscription_state`);
 * `requested` is stored as sent (what is stored is what was sent; HAPI
 * rewrites it in the create) and the delivery worker's handshake then makes it
 * `active` in a version of its own (delivery.ts); the write
 * hook validates the request and records, in the same transaction, the
 * owner's access — what notifications may carry is what that token could read.
 */
import type { Extension, Subscription } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import { authorize, forbidden } from '../auth/guard.ts';
import { parseRequest } from '../fhir/search.ts';
import type { StampHook, WriteHook } from '../fhir/persist.ts';
import type { EndpointPolicy } from './endpoint.ts';
import { planSubscription, secretExtensionUrl, typesOf } from './subscription-rules.ts';

/** The version objects whose secret the stamp removed, until their write hook stores it. */
const secrets = new WeakMap<object, string>();

export const stampSubscription: StampHook = (stored) => {
  if (stored.resourceType !== 'Subscription' || stored.content === null) return;
  const s = JSON.parse(stored.content) as Subscription & { channel?: { extension?: Extension[] } };
  const ext = s.channel?.extension ?? [];
  const secret = ext.find((e) => e.url === secretExtensionUrl)?.valueString;
  let changed = false;
  if (secret !== undefined && s.channel) {
    secrets.set(stored, secret);
    const rest = ext.filter((e) => e.url !== secretExtensionUrl);
    if (rest.length) s.channel.extension = rest;
    else delete s.channel.extension;
    changed = true;
  }
  if (changed) stored.content = JSON.stringify(s);
};

/** What is kept of the owner's token: enough to rebuild its access (actorFromClaims) at each delivery. */
export type OwnerClaims = { sub: string; role?: string; scope: string; clues?: string; patient?: string; fhirUser?: string } | null;

export function ownerClaims(actor: Actor | undefined): OwnerClaims {
  if (!actor) return null;
  return { sub: actor.subject, role: actor.role, scope: actor.scope, clues: actor.clues, patient: actor.patient, fhirUser: actor.fhirUser };
}

export function subscriptionWriteHook(policy: EndpointPolicy): WriteHook {
  const hook: WriteHook = async (tx, { stored, previous }, ctx) => {
    if (stored.deleted || stored.content === null) {
      await sql`UPDATE subscription_state SET active = false WHERE subscription_id = ${stored.id}`.execute(tx);
      return;
    }
    const s = JSON.parse(stored.content) as Subscription;
    const plan = planSubscription(s, policy);
    if (plan.criteria) parseRequest(plan.criteria.resourceType, plan.criteria.query, 'handling=strict');
    if (ctx.actor) for (const t of typesOf(plan)) authorize(ctx.actor, { permission: 's', resourceType: t });
    // Whoever may edit Subscriptions must not redirect someone else's: the notifications carry what the owner may read.
    const { rows: existing } = await sql<{ owner: OwnerClaims; active: boolean }>`SELECT owner, active FROM subscription_state WHERE subscription_id = ${stored.id} FOR UPDATE`.execute(tx);
    const owner = existing[0]?.owner;
    if (ctx.actor && owner && owner.sub !== ctx.actor.subject && ctx.actor.role !== 'admin') {
      throw forbidden({ es: 'Solo quien creó la suscripción puede modificarla', en: 'Only whoever created the subscription may change it' }, 'Subscription');
    }
    const active = s.status === 'active' || s.status === 'requested';
    // Backport IG: a created or reactivated rest-hook subscription (and any PUT back to `requested`) is verified
    // with a handshake before anything else is sent; the worker then sets it `active` (or `error`). So is a new
    // endpoint: nothing goes to an address that has not answered one.
    const before = previous && !previous.deleted && previous.content !== null ? (JSON.parse(previous.content) as Subscription) : undefined;
    const moved = before !== undefined && before.channel?.endpoint !== s.channel?.endpoint;
    const handshake = active && (s.status === 'requested' || !existing[0]?.active || moved);
    const secret = secrets.get(stored) ?? null;
    const heartbeat = plan.heartbeatSeconds ?? null;
    // A new owner only at creation; a later edit (e.g. reactivating after an error) keeps whose access it was.
    await sql`
      INSERT INTO subscription_state (subscription_id, owner, secret, active, base_url, first_history_seq, handshake_pending, heartbeat_seconds)
      VALUES (${stored.id}, ${JSON.stringify(ownerClaims(ctx.actor))}::jsonb, ${secret}, ${active}, ${ctx.baseUrl}, (SELECT coalesce(max(seq), 0) FROM resource_history), ${handshake}, ${heartbeat})
      ON CONFLICT (subscription_id) DO UPDATE SET
        secret = coalesce(${secret}, subscription_state.secret),
        active = ${active},
        handshake_pending = ${handshake},
        heartbeat_seconds = ${heartbeat},
        error = CASE WHEN ${active} THEN NULL ELSE subscription_state.error END,
        failures = CASE WHEN ${active} AND NOT subscription_state.active THEN 0 ELSE subscription_state.failures END,
        failing_since = CASE WHEN ${active} AND NOT subscription_state.active THEN NULL ELSE subscription_state.failing_since END,
        next_attempt = CASE WHEN ${handshake} OR (${active} AND NOT subscription_state.active) THEN now() ELSE subscription_state.next_attempt END
    `.execute(tx);
  };
  hook.types = ['Subscription'];
  return hook;
}
