/** What the HTTP layer and the interactions learn about a request, for its audit record. */
import { randomUUID } from 'node:crypto';
import type { Actor } from '../auth/actor.ts';
import type { AuditFacts } from './audit-event.ts';

export interface AuditInfo {
  requestId: string;
  clientIp: string;
  actor?: Actor;
  interaction: string;
  /** For `operation`: which one (e.g. `$summary`), recorded as a second subtype. */
  operation?: string;
  resourceType?: string;
  resourceId?: string;
  versionId?: string;
  query?: string;
  patients: Set<string>;
  /** Set when a write recorded its event inside its own transaction. */
  recordedInTransaction: boolean;
  /** Set once the event is recorded, so a request is never audited twice. */
  done: boolean;
}

/**
 * Starts a request's audit facts from its URL alone, so that even a request
 * refused before routing (no token) names what it asked for.
 */
export function newAuditInfo(requestId: string, clientIp: string, url: string, basePath: string): AuditInfo {
  const q = url.indexOf('?');
  const [type, id] = (q === -1 ? url : url.slice(0, q)).slice(basePath.length + 1).split('/');
  const named = type !== undefined && /^[A-Z][A-Za-z]+$/.test(type);
  // One object shape for every request (no conditional spreads): built on every request, read on every audit.
  return {
    requestId,
    clientIp,
    interaction: 'operation',
    resourceType: named ? type : undefined,
    resourceId: named && id && !id.startsWith('_') && !id.startsWith('$') ? id : undefined,
    query: q === -1 ? undefined : url.slice(q + 1),
    patients: new Set(),
    recordedInTransaction: false,
    done: false,
  };
}

/** The facts of one finished request (or bundle entry) for its audit row. */
export function auditFacts(info: AuditInfo, status: number, outcomeText?: string): AuditFacts {
  return {
    id: randomUUID(),
    recorded: new Date(),
    interaction: info.interaction,
    operation: info.operation || undefined,
    status,
    actor: info.actor,
    clientIp: info.clientIp,
    requestId: info.requestId,
    resourceType: info.resourceType,
    resourceId: info.resourceId,
    versionId: info.versionId,
    query: info.query,
    patients: [...info.patients],
    outcomeText: status >= 400 ? outcomeText : undefined,
  };
}
