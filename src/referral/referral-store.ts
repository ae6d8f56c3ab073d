/**
 * Reads the referral rules need, inside the write's transaction: resources by id, by search, and the referral rows.
 * A rule that reads on the caller's behalf passes the caller's readable set (`rowAccessFor(ctx.actor)`): what the
 * caller may not read counts as absent, so no status code or message of a write depends on data the caller could not
 * read itself (whether another patient has a telemedicine consent, whether a Composition is someone's consult note).
 */
import type { Resource } from '@medplum/fhirtypes';
import { parseRequest } from '../fhir/search.ts';
import type { FhirContext, Query } from '../fhir/types.ts';
import { typeAccess, type RowAccess } from '../search/row-access.ts';
import { runPage } from '../search/run-search.ts';
import { readCurrent, type Db } from '../store/resource-store.ts';
import { referralDb } from './tables.ts';

export function parseContent<T extends Resource>(content: string | null | undefined): T | undefined {
  return content ? (JSON.parse(content) as T) : undefined;
}

/** The current version, when it exists and (with `access`) the caller may read it. */
export async function readResource<T extends Resource>(tx: Db, type: string, id: string | undefined, access?: RowAccess): Promise<T | undefined> {
  if (id === undefined) return undefined;
  const level = typeAccess(access, type);
  if (level === 'none') return undefined;
  const v = await readCurrent(tx, type, id);
  if (!v || v.deleted || (level === 'compartment' && !v.patients.includes(access?.patient ?? ''))) return undefined;
  return parseContent<T>(v.content);
}

/** An ordinary search (the same compiler and indexes as GET /[type]?…), first 50 matches; with `access`, readable ones only. */
export async function findResources<T extends Resource>(tx: Db, ctx: FhirContext, type: string, query: Query, access?: RowAccess): Promise<T[]> {
  const parsed = parseRequest(type, { ...query, _count: '50' }, 'handling=strict');
  const page = await runPage(tx, parsed, { baseUrl: ctx.baseUrl, now: ctx.now(), access });
  return page.rows.flatMap((r) => {
    const resource = parseContent<T>(r.content);
    return resource ? [resource] : [];
  });
}

export function referralByTask(tx: Db, taskId: string) {
  return referralDb(tx).selectFrom('referral').selectAll().where('task_id', '=', taskId).executeTakeFirst();
}

export function referralByRequest(tx: Db, serviceRequestId: string) {
  return referralDb(tx).selectFrom('referral').selectAll().where('service_request_id', '=', serviceRequestId).executeTakeFirst();
}
