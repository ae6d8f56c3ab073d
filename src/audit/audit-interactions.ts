/**
 * The audit trail through FHIR: read an AuditEvent, search them
 * (`patient`, `date`, `agent`, `entity`, `action`, `subtype`, `outcome`), and
 * `$verify-chain`. AuditEvents live in their own append-only table, not in
 * the resource store, so they are served from it here; nobody can write them
 * through the API (see roles.ts). A reader limited to one patient's
 * compartment finds only the events that name that patient, and sees of each
 * only what concerns that patient (eventForPatient).
 */
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { patientIdOf } from '../fhir/compartment.ts';
import { badRequest, forbidden, notFound } from '../fhir/errors.ts';
import { pageUrl, sequenceCursor } from '../fhir/page-url.ts';
import { parseCount, values } from '../fhir/params.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../fhir/types.ts';
import { rowAccessFor } from '../auth/readable.ts';
import { typeAccess } from '../search/row-access.ts';
import { eventForPatient, eventFromFacts } from './audit-event.ts';
import { verifyChain } from './verify-chain.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The patient a reader is limited to, when it may read AuditEvents only inside a compartment. */
function patientReader(ctx: FhirContext): string | undefined {
  const access = rowAccessFor(ctx.actor);
  return typeAccess(access, 'AuditEvent') === 'all' ? undefined : (access?.patient ?? '');
}

function render(row: { facts: string; patients: string[] }, patient: string | undefined) {
  return patient === undefined ? eventFromFacts(row.facts) : eventForPatient(row.facts, row.patients, patient);
}

export async function readAuditEvent(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const id = req.id ?? '';
  const patient = patientReader(ctx);
  const row = uuid.test(id) ? await ctx.db.selectFrom('audit_event').select(['facts', 'patients']).where('id', '=', id).executeTakeFirst() : undefined;
  if (!row || (patient !== undefined && !row.patients.includes(patient))) {
    throw notFound({ es: `No existe AuditEvent/${id}`, en: `AuditEvent/${id} does not exist` });
  }
  return { status: 200, body: render(row, patient), patients: patient === undefined ? row.patients : [patient] };
}

const datePattern = /^(eq|ne|gt|lt|ge|le)?(\d{4})(?:-(\d{2})(?:-(\d{2})(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** A date parameter value as [start, end) of the period it names. */
function dateRange(value: string): { prefix: string; start: Date; end: Date } {
  const m = datePattern.exec(value);
  if (!m) {
    throw badRequest({ es: `date inválido "${value}": use [prefijo]AAAA[-MM[-DD[Thh:mm:ssZ]]]`, en: `Invalid date "${value}": use [prefix]YYYY[-MM[-DD[Thh:mm:ssZ]]]` }, 'date');
  }
  const [, prefix = 'eq', y, mo, d, time] = m;
  const year = Number(y);
  let start: Date;
  let end: Date;
  if (time) {
    start = new Date(`${y}-${mo}-${d}${time}`);
    end = new Date(start.getTime() + 1000);
  } else if (d) {
    start = new Date(Date.UTC(year, Number(mo) - 1, Number(d)));
    end = new Date(Date.UTC(year, Number(mo) - 1, Number(d) + 1));
  } else if (mo) {
    start = new Date(Date.UTC(year, Number(mo) - 1, 1));
    end = new Date(Date.UTC(year, Number(mo), 1));
  } else {
    start = new Date(Date.UTC(year, 0, 1));
    end = new Date(Date.UTC(year + 1, 0, 1));
  }
  if (Number.isNaN(start.getTime())) {
    throw badRequest({ es: `date inválido "${value}"`, en: `Invalid date "${value}"` }, 'date');
  }
  return { prefix, start, end };
}

export async function searchAuditEvents(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const count = parseCount(req.query);
  const patient = patientReader(ctx);
  let query = ctx.db.selectFrom('audit_event').select(['seq', 'id', 'facts', 'patients']);
  if (patient !== undefined) query = query.where(sql<boolean>`patients @> ARRAY[${patient}]::text[]`);
  for (const value of values(req.query, 'patient')) {
    const ids = value.split(',').map((v) => patientIdOf(v) ?? v);
    query = query.where(sql<boolean>`patients && ${sql.val(ids)}::text[]`);
  }
  for (const value of values(req.query, 'date')) {
    const { prefix, start, end } = dateRange(value);
    query =
      prefix === 'ge' ? query.where('recorded', '>=', start)
      : prefix === 'gt' ? query.where('recorded', '>=', end)
      : prefix === 'le' ? query.where('recorded', '<', end)
      : prefix === 'lt' ? query.where('recorded', '<', start)
      : prefix === 'ne' ? query.where((eb) => eb.or([eb('recorded', '<', start), eb('recorded', '>=', end)]))
      : query.where('recorded', '>=', start).where('recorded', '<', end);
  }
  for (const value of values(req.query, 'agent')) {
    // token (system|value) or plain subject; the system is always ours.
    query = query.where('agent', 'in', value.split(',').map((v) => v.slice(v.indexOf('|') + 1)));
  }
  for (const value of values(req.query, 'entity')) {
    const refs = value.split(',').map((v) => v.split('/'));
    query = query.where((eb) => eb.or(refs.map(([type, id]) => eb.and([eb('entity_type', '=', type ?? ''), eb('entity_id', '=', id ?? '')]))));
  }
  for (const [param, column] of [['action', 'action'], ['subtype', 'subtype'], ['outcome', 'outcome']] as const) {
    for (const value of values(req.query, param)) {
      query = query.where(column, 'in', value.split(',').map((v) => v.slice(v.indexOf('|') + 1)));
    }
  }
  const cursor = sequenceCursor(req.query);
  if (cursor !== undefined) {
    query = query.where('seq', '<', cursor);
  }
  const rows = await query.orderBy('seq', 'desc').limit(count + 1).execute();
  const page = rows.slice(0, count);
  const link: Bundle['link'] = [{ relation: 'self', url: pageUrl(ctx.baseUrl, 'AuditEvent', req, cursor) }];
  if (rows.length > count && page.length > 0) {
    link.push({ relation: 'next', url: pageUrl(ctx.baseUrl, 'AuditEvent', req, page[page.length - 1]?.seq) });
  }
  const entry = page.map((r) => ({ fullUrl: `${ctx.baseUrl}/AuditEvent/${r.id}`, resource: render(r, patient), search: { mode: 'match' as const } }));
  return { status: 200, body: { resourceType: 'Bundle', type: 'searchset', link, entry } };
}

export async function verifyChainOperation(_req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  // The report covers the whole trail (row counts, sequence numbers): not for a reader limited to one patient.
  if (patientReader(ctx) !== undefined) {
    throw forbidden({ es: 'Verificar la cadena de la bitácora requiere leer toda la bitácora (user/AuditEvent.s)', en: 'Verifying the audit chain needs access to the whole trail (user/AuditEvent.s)' });
  }
  const report = await verifyChain(ctx.db);
  const body: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'result', valueBoolean: report.ok },
      { name: 'checked', valueInteger: report.checked },
      { name: 'lanes', valueInteger: report.lanes },
      ...report.problems.map((p) => ({ name: 'problem', part: [{ name: 'seq', valueString: p.seq }, { name: 'problem', valueString: p.problem }] })),
    ],
  };
  return { status: 200, body };
}
