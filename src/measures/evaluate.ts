/**
 * Evaluating a built-in measure for a caller: who may (auditors and
 * administrators), over what (a token with a `clues` claim is unit-level and
 * counts only its unit's rows; `subject` narrows to one unit), then one SQL
 * statement and the displays its values need.
 */
import type { MeasureReport, ValueSet } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import { authorize, forbidden } from '../auth/guard.ts';
import { rowAccessFor } from '../auth/readable.ts';
import { notFound } from '../fhir/errors.ts';
import { typeAccess } from '../search/row-access.ts';
import type { Db } from '../store/resource-store.ts';
import { conformanceById } from '../validation/profiles/registry.ts';
import type { Dimension, MeasureDef } from './definitions.ts';
import { measureReport, type Displays } from './measure-report.ts';
import { measureSql, toMeasureRows, type MeasureRow } from './measure-sql.ts';
import { selectStratifiers, type MeasureParameters } from './measure-parameters.ts';

/** Roles that may run measures (README, "Productivity statistics"). */
export const measureRoles: ReadonlySet<string> = new Set(['auditor', 'admin']);

export function authorizeMeasure(actor: Actor | undefined, def: MeasureDef): void {
  if (!actor) return;
  if (!measureRoles.has(actor.role ?? '')) {
    throw forbidden({
      es: 'Solo los roles auditor y admin ejecutan medidas ($evaluate-measure)',
      en: 'Only the auditor and admin roles run measures ($evaluate-measure)',
    });
  }
  // Aggregates over everyone's records: a token limited to one patient's compartment may not run them.
  if (actor.scopes.every((s) => s.context === 'patient')) {
    throw forbidden({ es: 'Un token de paciente no ejecuta medidas poblacionales', en: 'A patient token does not run population measures' });
  }
  authorize(actor, { permission: 's', resourceType: def.basis });
  // A count is over every record of the type: a token that reads them only in a patient's compartment may not run it.
  if (typeAccess(rowAccessFor(actor), def.basis) !== 'all') {
    throw forbidden({ es: `Contar ${def.basis} requiere leer todos sus registros (user/${def.basis}.rs), no solo los de un paciente`, en: `Counting ${def.basis} requires reading all its records (user/${def.basis}.rs), not a patient's only` });
  }
}

/** The measure's other types the caller may not read in full (measure-sql.ts leaves out what comes from them). */
export function hiddenTypes(actor: Actor | undefined, def: MeasureDef): Set<string> {
  const access = rowAccessFor(actor);
  return new Set(def.reads.filter((type) => typeAccess(access, type) !== 'all'));
}

let specialtyNames: Map<string, string> | undefined;
function specialties(): ReadonlyMap<string, string> {
  if (!specialtyNames) {
    const vs = conformanceById('ValueSet', 'especialidad-referencia') as ValueSet | undefined;
    specialtyNames = new Map((vs?.compose?.include ?? []).flatMap((i) => (i.concept ?? []).map((c) => [c.code, c.display ?? c.code] as [string, string])));
  }
  return specialtyNames;
}

async function unitOfSubject(db: Db, subject: string): Promise<string> {
  const id = subject.slice('Organization/'.length);
  const r = await sql<{ code: string }>`SELECT code FROM sp_token WHERE resource_type = 'Organization' AND id = ${id} AND param = 'clues' ORDER BY code LIMIT 1`.execute(db);
  const clues = r.rows[0]?.code;
  if (!clues) {
    throw notFound({ es: `subject ${subject}: no existe o no tiene CLUES`, en: `subject ${subject}: it does not exist or has no CLUES` }, 'subject');
  }
  return clues;
}

function valuesOf(rows: readonly MeasureRow[], dims: readonly Dimension[]): string[] {
  return [...new Set(rows.flatMap((r) => dims.map((d) => r.values[d])).filter((v): v is string => typeof v === 'string'))];
}

/** Names of units and scanners, from resources the caller may read (otherwise the CLUES or id alone). */
async function displaysFor(db: Db, actor: Actor | undefined, rows: readonly MeasureRow[]): Promise<Displays> {
  const access = rowAccessFor(actor);
  const readable = (type: string) => typeAccess(access, type) === 'all';
  const clues = readable('Organization') ? valuesOf(rows, ['unidad', 'unidad_referente']) : [];
  const devices = readable('Device') ? valuesOf(rows, ['equipo']) : [];
  const units =
    clues.length === 0
      ? []
      : (
          await sql<{ clues: string; name: string | null }>`SELECT DISTINCT ON (t.code) t.code AS clues, r.content::jsonb->>'name' AS name
          FROM sp_token t JOIN resource r ON r.resource_type = 'Organization' AND r.id = t.id AND NOT r.deleted
          WHERE t.resource_type = 'Organization' AND t.param = 'clues' AND t.code = ANY(${clues}::text[]) ORDER BY t.code, t.id`.execute(db)
        ).rows;
  const scanners =
    devices.length === 0
      ? []
      : (
          await sql<{ id: string; name: string | null }>`SELECT id, coalesce(content::jsonb->'deviceName'->0->>'name', content::jsonb->>'modelNumber') AS name
          FROM resource WHERE resource_type = 'Device' AND id = ANY(${devices}::text[]) AND NOT deleted`.execute(db)
        ).rows;
  const procedureCodes = readable('Procedure') ? valuesOf(rows, ['procedimiento']) : [];
  // A procedure's name as recorded (the display of its first coding), from one Procedure with that code.
  const procedures =
    procedureCodes.length === 0
      ? []
      : (
          await sql<{ code: string; name: string | null }>`SELECT c.code, p.name FROM unnest(${procedureCodes}::text[]) AS c(code)
          CROSS JOIN LATERAL (SELECT r.content::jsonb->'code'->'coding'->0->>'display' AS name FROM sp_token t JOIN resource r ON r.resource_type = 'Procedure' AND r.id = t.id
            WHERE t.resource_type = 'Procedure' AND t.param = 'code' AND t.code = c.code LIMIT 1) AS p`.execute(db)
        ).rows;
  const unitNames = new Map(units.filter((u) => u.name).map((u) => [u.clues, `${u.name ?? ''} (${u.clues})`]));
  return {
    unidad: unitNames,
    unidad_referente: unitNames,
    especialidad: specialties(),
    procedimiento: new Map(procedures.filter((p) => p.name).map((p) => [p.code, p.name ?? ''])),
    equipo: new Map(scanners.filter((d) => d.name).map((d) => [d.id, `${d.name ?? ''} (Device/${d.id})`])),
  };
}

export async function evaluateMeasure(db: Db, actor: Actor | undefined, def: MeasureDef, params: MeasureParameters, now: Date): Promise<MeasureReport> {
  authorizeMeasure(actor, def);
  const stratifiers = selectStratifiers(def, params.stratifier);
  const own = actor?.clues ? [actor.clues] : undefined;
  let units = own;
  if (params.subject) {
    const clues = await unitOfSubject(db, params.subject);
    if (own && !own.includes(clues)) {
      throw forbidden({ es: `El token solo ve su unidad (CLUES ${own.join(', ')}), no ${clues}`, en: `The token sees its own unit only (CLUES ${own.join(', ')}), not ${clues}` }, 'subject');
    }
    units = [clues];
  }
  const query = measureSql(def, { from: params.from, to: params.to, now, units, sets: stratifiers.map((s) => s.dimensions), hidden: hiddenTypes(actor, def) });
  const rows = toMeasureRows((await query.execute(db)).rows);
  return measureReport({
    def,
    stratifiers,
    rows,
    displays: await displaysFor(db, actor, rows),
    periodStart: params.periodStart,
    periodEnd: params.periodEnd,
    subject: params.subject,
    now,
    restrictedTo: own,
  });
}
