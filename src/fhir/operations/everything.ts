/**
 * Patient/{id}/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html):
 * the patient, every resource in its compartment, and the Practitioners,
 * Organizations, Locations and Medications they reference. Linked records
 * (Patient.link, in either direction) count as the same person. Runs on the
 * compartment column stored with each resource (`patients`, GIN-indexed): one
 * query per page for the compartment plus one for what the page references.
 * `_since`, `_type`, `_count` and keyset paging (`_cursor`) as in search.
 * Both queries hold to the caller's readable set; a patient outside a patient
 * token's compartment is a 404, as if it did not exist.
 */
import type { Bundle, BundleEntry, OperationDefinition, Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { rowAccessFor } from '../../auth/readable.ts';
import { rowCondition } from '../../search/row-access.ts';
import { patientIdOf } from '../compartment.ts';
import { isResourceType } from '../definitions.ts';
import { badRequest } from '../errors.ts';
import { pageUrl } from '../page-url.ts';
import { parseInstantParam, single } from '../params.ts';
import { readExisting } from '../read.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';
import { parseJson } from '../../json/lossless.ts';

export const everythingOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-everything',
  url: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  name: 'everything',
  status: 'active',
  kind: 'operation',
  code: 'everything',
  resource: ['Patient'],
  system: false,
  type: false,
  instance: true,
};

const referencedTypes = new Set(['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Medication']);
const defaultCount = 100;
const maxCount = 1000;

function count(req: FhirRequest): number {
  const raw = single(req.query, '_count');
  if (raw === undefined) return defaultCount;
  if (!/^\d+$/.test(raw) || Number(raw) === 0) {
    throw badRequest({ es: `_count debe ser un entero positivo, no "${raw}"`, en: `_count must be a positive integer, not "${raw}"` }, '_count');
  }
  return Math.min(Number(raw), maxCount);
}

function types(req: FhirRequest): string[] | undefined {
  const raw = single(req.query, '_type');
  if (raw === undefined) return undefined;
  const list = raw.split(',').filter(Boolean);
  const unknown = list.find((t) => !isResourceType(t));
  if (unknown) {
    throw badRequest({ es: `_type: tipo de recurso desconocido "${unknown}"`, en: `_type: unknown resource type "${unknown}"` }, '_type');
  }
  return list;
}

/** Cursor: the last (type, id) served, as `Type/id`. */
function cursor(req: FhirRequest): [string, string] | undefined {
  const raw = single(req.query, '_cursor');
  if (raw === undefined) return undefined;
  const [type, id] = raw.split('/');
  if (!type || !id) throw badRequest({ es: `_cursor inválido "${raw}"`, en: `Invalid _cursor "${raw}"` }, '_cursor');
  return [type, id];
}

/** The person's record ids: this patient, those it links to, and those linking to it. */
async function linkedPatients(ctx: FhirContext, patient: Resource & { link?: { other?: { reference?: string } }[] }, id: string): Promise<string[]> {
  const ids = new Set([id]);
  for (const link of patient.link ?? []) {
    const other = patientIdOf(link.other?.reference);
    if (other) ids.add(other);
  }
  const linking = await ctx.db.selectFrom('resource').select('id').where('resource_type', '=', 'Patient').where('deleted', '=', false).where(sql<boolean>`patients @> ARRAY[${id}]::text[]`).execute();
  for (const row of linking) ids.add(row.id);
  return [...ids];
}

function collectReferences(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectReferences(item, into);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'reference' && typeof value === 'string') {
        const [type, id] = value.split('/').slice(-2);
        if (type && id && referencedTypes.has(type)) into.add(`${type}/${id}`);
      } else if (typeof value === 'object') {
        collectReferences(value, into);
      }
    }
  }
}

export async function everything(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const id = req.id ?? '';
  const patient = parseJson((await readExisting({ ...req, resourceType: 'Patient' }, ctx)).content ?? '{}') as Resource;
  const n = count(req);
  const since = parseInstantParam(req.query, '_since');
  const only = types(req);
  const after = cursor(req);
  const ids = await linkedPatients(ctx, patient, id);
  for (const p of ids) ctx.audit?.patients.add(p);
  const access = rowAccessFor(ctx.actor);
  const readable = rowCondition(access, sql`resource_type`, sql`patients`);

  let query = ctx.db
    .selectFrom('resource')
    .select(['resource_type', 'id', 'content'])
    .where('deleted', '=', false)
    .where(sql<boolean>`patients && ${sql.val(ids)}::text[]`);
  if (only) query = query.where('resource_type', 'in', only);
  if (since) query = query.where('last_updated', '>=', since);
  if (after) query = query.where(sql<boolean>`(resource_type, id) > (${after[0]}, ${after[1]})`);
  if (readable) query = query.where(readable);
  const rows = await query.orderBy('resource_type').orderBy('id').limit(n + 1).execute();
  const page = rows.slice(0, n);

  const refs = new Set<string>();
  const matched: Resource[] = page.map((r) => parseJson(r.content ?? '{}') as Resource);
  for (const resource of matched) collectReferences(resource, refs);
  for (const r of page) refs.delete(`${r.resource_type}/${r.id}`);
  const wanted = [...refs].map((ref) => ref.split('/') as [string, string]).filter(([type]) => !only || only.includes(type));
  const included = wanted.length
    ? await ctx.db
        .selectFrom('resource')
        .select(['content'])
        .where('deleted', '=', false)
        .where((eb) => eb.or(wanted.map(([type, rid]) => eb.and([eb('resource_type', '=', type), eb('id', '=', rid)]))))
        .$if(readable !== undefined, (q) => q.where(readable!))
        .execute()
    : [];

  const path = `Patient/${id}/$everything`;
  const link: Bundle['link'] = [{ relation: 'self', url: pageUrl(ctx.baseUrl, path, req, after ? after.join('/') : undefined) }];
  const last = page[page.length - 1];
  if (rows.length > n && last) link.push({ relation: 'next', url: pageUrl(ctx.baseUrl, path, req, `${last.resource_type}/${last.id}`) });
  const entry: BundleEntry[] = [
    ...matched.map((resource) => ({ fullUrl: `${ctx.baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' as const } })),
    ...included.map((r) => {
      const resource = parseJson(r.content ?? '{}') as Resource;
      return { fullUrl: `${ctx.baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'include' as const } };
    }),
  ];
  return { status: 200, body: { resourceType: 'Bundle', type: 'searchset', link, entry } };
}
