/**
 * The AuditEvent of a delivery attempt (pure): a notification discloses a
 * record to a receiver, so the trail names whose subscription it was (the
 * owner, as information recipient), the endpoint's host as the network
 * address it went to, what was disclosed (the resource version, and its
 * patients so each patient's trail shows it) and how it went (the receiver's
 * HTTP status, or 502 when it could not be reached). The request id is the
 * notification Bundle's id, so a receiver's log and the trail can be joined.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { auditRow, type AuditActor, type AuditRow } from '../audit/audit-event.ts';
import type { OwnerClaims } from './registry.ts';

export interface DeliveredSubject {
  resourceType: string;
  id: string;
  versionId?: number;
  patients: readonly string[];
}

export function deliveryAuditRow(
  c: { subscription_id: string; owner: OwnerClaims },
  kind: 'handshake' | 'heartbeat' | 'event-notification',
  now: Date,
  result: { ok: boolean; status?: number; detail?: string },
  bundle: Bundle,
  subject: DeliveredSubject,
  endpoint: string,
): AuditRow {
  const owner = c.owner;
  const actor: AuditActor | undefined = owner ? { subject: owner.sub, role: owner.role as AuditActor['role'], clues: owner.clues, scope: owner.scope } : undefined;
  let host = endpoint;
  try {
    host = new URL(endpoint).host;
  } catch {
    // kept as given
  }
  const status = result.status ?? (result.ok ? 200 : 502);
  return auditRow({
    id: crypto.randomUUID(),
    recorded: now,
    interaction: 'operation',
    operation: `subscription-${kind}`,
    status,
    actor,
    clientIp: host,
    requestId: bundle.id ?? '',
    resourceType: subject.resourceType,
    resourceId: subject.id,
    versionId: subject.versionId === undefined ? undefined : String(subject.versionId),
    query: `Subscription/${c.subscription_id}`,
    patients: [...subject.patients],
    outcomeText: result.ok ? undefined : `Notificación no entregada / Notification not delivered: ${result.detail ?? `HTTP ${status}`}`,
  });
}
