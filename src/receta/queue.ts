/**
 * The pharmacy queue: active, signed, unexpired prescriptions found by the
 * patient's CURP (as recorded when signed), by folio (`value` or
 * `system|value`) or by date of issue (`date=2026-11-20`, with ge/gt/le/lt
 * prefixes, repeatable). Any institutional pharmacy sees every unit's
 * recetas. Served from the receta tables joined to the current versions.
 */
import { sql } from 'kysely';
import { badRequest } from '../fhir/errors.ts';
import { values } from '../fhir/params.ts';
import type { Query } from '../fhir/types.ts';
import type { Db } from '../store/resource-store.ts';
import { recetaDb } from './tables.ts';
import { rowCondition, type RowAccess } from '../search/row-access.ts';

const datePattern = /^(eq|gt|lt|ge|le)?(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01]))?)?$/;

/** A date parameter as the prefix and the [start, end) of the day, month or year it names. */
export function dateBounds(value: string): { prefix: string; start: Date; end: Date } {
  const m = datePattern.exec(value);
  if (!m) {
    throw badRequest({ es: `date inválido "${value}": use [eq|ge|gt|le|lt]AAAA[-MM[-DD]]`, en: `Invalid date "${value}": use [eq|ge|gt|le|lt]YYYY[-MM[-DD]]` }, 'date');
  }
  const [, prefix = 'eq', y, mo, d] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const start = new Date(Date.UTC(year, month, d ? Number(d) : 1));
  const end = d ? new Date(Date.UTC(year, month, Number(d) + 1)) : mo ? new Date(Date.UTC(year, month + 1, 1)) : new Date(Date.UTC(year + 1, 0, 1));
  return { prefix, start, end };
}

/** `access`: the caller's readable set, in the query (a patient token finds only its own recetas, and learns nothing of others'). */
export async function pharmacyQueue(db: Db, query: Query, now: Date, limit: number, access?: RowAccess): Promise<string[]> {
  const curps = values(query, 'curp');
  const folios = values(query, 'folio');
  const dates = values(query, 'date');
  if (!curps.length && !folios.length && !dates.length) {
    throw badRequest({ es: 'Indique curp, folio o date para buscar recetas', en: 'Give curp, folio or date to find recetas' }, 'curp');
  }
  let q = recetaDb(db)
    .selectFrom('receta as r')
    .innerJoin('receta_item as i', (j) => j.onRef('i.folio_system', '=', 'r.folio_system').onRef('i.folio', '=', 'r.folio'))
    .innerJoin('resource as m', (j) => j.onRef('m.id', '=', 'i.medication_request_id').on('m.resource_type', '=', 'MedicationRequest'))
    .select('m.content')
    .where('m.deleted', '=', false)
    .where(sql<boolean>`(m.content::jsonb ->> 'status') = 'active'`)
    .where((eb) => eb.or([eb('i.valid_until', 'is', null), eb('i.valid_until', '>', now)]));
  const readable = rowCondition(access, sql`m.resource_type`, sql`m.patients`, 'MedicationRequest');
  if (readable) q = q.where(readable);
  for (const curp of curps) {
    q = q.where('r.patient_curp', '=', curp.slice(curp.indexOf('|') + 1).toUpperCase());
  }
  for (const folio of folios) {
    const bar = folio.indexOf('|');
    q = bar === -1 ? q.where('r.folio', '=', folio) : q.where('r.folio_system', '=', folio.slice(0, bar)).where('r.folio', '=', folio.slice(bar + 1));
  }
  for (const date of dates) {
    const { prefix, start, end } = dateBounds(date);
    q =
      prefix === 'ge' ? q.where('r.signed_at', '>=', start)
      : prefix === 'gt' ? q.where('r.signed_at', '>=', end)
      : prefix === 'le' ? q.where('r.signed_at', '<', end)
      : prefix === 'lt' ? q.where('r.signed_at', '<', start)
      : q.where('r.signed_at', '>=', start).where('r.signed_at', '<', end);
  }
  const rows = await q.orderBy('r.signed_at', 'desc').orderBy('i.medication_request_id').limit(limit).execute();
  return rows.flatMap((r) => (r.content ? [r.content] : []));
}
