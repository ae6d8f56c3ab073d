/** Reads the referral rules need, inside the write's transaction: resources by id, by search, and the referral rows. */
import type { Resource } from '@medplum/fhirtypes';
import { parseRequest } from '../fhir/search.ts';
import type { FhirContext, Query } from '../fhir/types.ts';
import { runPage } from '../search/run-search.ts';
import { readCurrent, type Db } from '../store/resource-store.ts';
import { referralDb } from './tables.ts';

export function parseContent<T extends Resource>(content: string | null | undefined): T | undefined {
  return content ? (JSON.parse(content) as T) : undefined;
}

export async function readResource<T extends Resource>(tx: Db, type: string, id: string | undefined): Promise<T | undefined> {
  if (id === undefined) return undefined;
  const v = await readCurrent(tx, type, id);
  return v && !v.deleted ? parseContent<T>(v.content) : undefined;
}

/** An ordinary search (the same compiler and indexes as GET /[type]?…), first 50 matches. */
export async function findResources<T extends Resource>(tx: Db, ctx: FhirContext, type: string, query: Query): Promise<T[]> {
  const parsed = parseRequest(type, { ...query, _count: '50' }, 'handling=strict');
  const page = await runPage(tx, parsed, { baseUrl: ctx.baseUrl, now: ctx.now() });
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
