/**
 * CURP is unique among active Patients, in every profile mode: a write that
 * would give a second active Patient the same CURP is refused with 409,
 * naming the Patient that has it and how to add to that record instead.
 * The `active_curp` table (see its migration) is kept in the write's own
 * transaction; its primary key makes the check hold across instances.
 */
import type { Patient } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { FhirError, issue } from '../fhir/errors.ts';
import type { WriteHook } from '../fhir/persist.ts';
import { parseJson } from '../json/lossless.ts';
import { storedResource } from '../store/stored-content.ts';
import { curpSystem } from '../mx/systems.ts';
import { activeCurps } from './active-curps.ts';

export const curpUniqueHook: WriteHook = async (tx, { stored }) => {
  const patient = stored.content === null ? undefined : (parseJson(stored.content) as Patient);
  const curps = activeCurps(patient);
  await sql`DELETE FROM active_curp WHERE patient_id = ${stored.id} AND NOT (curp = ANY(${curps}::text[]))`.execute(tx);
  for (const curp of curps) {
    // A concurrent writer of the same CURP waits here for the first to commit, then sees its row.
    const { rows } = await sql<{ patient_id: string }>`
      INSERT INTO active_curp (curp, patient_id) VALUES (${curp}, ${stored.id})
      ON CONFLICT (curp) DO UPDATE SET patient_id = active_curp.patient_id
      RETURNING patient_id`.execute(tx);
    const holder = rows[0]?.patient_id;
    if (holder !== undefined && holder !== stored.id) throw curpTaken(curp, holder, patient);
  }
};
curpUniqueHook.types = ['Patient'];
// Outside a transaction the same claim rides in the write's own statement (see the active_curp_claim migration).
curpUniqueHook.inline = {
  expression: ({ stored }) => sql`active_curp_claim(${stored.id}, ${activeCurps(storedResource<Patient>(stored))}::text[])`,
  refused: (err, { stored }) => {
    const e = err as { code?: unknown; detail?: unknown; hint?: unknown };
    if (e?.code !== 'EC409' || typeof e.detail !== 'string' || typeof e.hint !== 'string') return undefined;
    return curpTaken(e.detail, e.hint, storedResource<Patient>(stored));
  },
};
// A first version without an active CURP has no row to add or remove.
curpUniqueHook.idle = ({ stored, previous }) => previous === undefined && activeCurps(storedResource<Patient>(stored)).length === 0;

function curpTaken(curp: string, holder: string, patient: Patient | undefined): FhirError {
  const index = (patient?.identifier ?? []).findIndex((i) => i.system === curpSystem && i.value?.trim().toUpperCase() === curp);
  const conditional = `PUT Patient?identifier=${curpSystem}|${curp}`;
  return new FhirError(409, [
    issue(
      'duplicate',
      {
        es: `La CURP ${curp} ya pertenece al paciente activo Patient/${holder}: una persona tiene un solo expediente. Para agregar o corregir datos actualice ese registro (${conditional}, actualización condicional); si de verdad son dos registros de la misma persona, márquelo con Patient.link (replaced-by / replaces) y active: false en el que se retira`,
        en: `CURP ${curp} already belongs to active Patient/${holder}: a person has one record. To add or correct data update that record (${conditional}, a conditional update); if there really are two records of one person, mark it with Patient.link (replaced-by / replaces) and active: false on the one retired`,
      },
      `Patient.identifier[${Math.max(index, 0)}]`,
    ),
  ]);
}
