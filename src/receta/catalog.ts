/**
 * The medicine catalogue: Medication resources whose extension
 * mx-grupo-medicamento gives their group under Ley General de Salud art. 226,
 * found by Medication id or by Compendio Nacional key. A write hook keeps the
 * `receta_catalog` table in step with them; only institution and admin tokens
 * may write a Medication that carries (or carried) a group, so a prescriber
 * cannot declassify a medicine. When several entries share a key, the
 * strictest group wins.
 */
import type { Medication, MedicationRequest, Resource } from '@medplum/fhirtypes';
import { forbidden } from '../auth/guard.ts';
import type { WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { readCurrent, type Db } from '../store/resource-store.ts';
import { isControlledGroup, stricterGroup, type ControlledGroup } from './controlled.ts';
import { compendioSystem, controlledGroupExtension } from './systems.ts';
import { recetaDb } from './tables.ts';

export function groupOfMedication(medication: Medication | undefined): ControlledGroup | undefined {
  const code = medication?.extension?.find((e) => e.url === controlledGroupExtension)?.valueCoding?.code;
  return isControlledGroup(code) ? code : undefined;
}

function compendioKeys(concept: { coding?: { system?: string; code?: string }[] } | undefined): string[] {
  return (concept?.coding ?? []).filter((c) => c.system === compendioSystem && c.code).map((c) => c.code ?? '');
}

function parse<T extends Resource>(content: string | null | undefined): T | undefined {
  return content ? (JSON.parse(content) as T) : undefined;
}

export async function catalogWriteHook(tx: Db, { stored, previous }: WrittenVersion, ctx: FhirContext): Promise<void> {
  const next = parse<Medication>(stored.content);
  const before = parse<Medication>(previous?.content);
  const group = groupOfMedication(next);
  if ((group || groupOfMedication(before)) && ctx.actor && ctx.actor.role !== 'institution' && ctx.actor.role !== 'admin') {
    throw forbidden({
      es: 'Solo la institución (rol institution o admin) mantiene el grupo de control (LGS art. 226) del catálogo de medicamentos',
      en: 'Only the institution (institution or admin role) maintains the control group (LGS art. 226) of the medicine catalogue',
    });
  }
  const rdb = recetaDb(tx);
  await rdb.deleteFrom('receta_catalog').where('medication_id', '=', stored.id).execute();
  if (group && next) {
    const keys = compendioKeys(next.code);
    const rows = (keys.length ? keys : [null]).map((key) => ({ medication_id: stored.id, compendio_key: key, controlled_group: group }));
    await rdb.insertInto('receta_catalog').values(rows).execute();
  }
}

/** The group of a prescribed medicine according to the catalogue (undefined: not a controlled medicine of the catalogue). */
export async function groupOfRequest(db: Db, request: MedicationRequest): Promise<ControlledGroup | undefined> {
  const reference = request.medicationReference?.reference;
  const contained = reference?.startsWith('#') ? (request.contained ?? []).find((c) => c.id === reference.slice(1)) : undefined;
  const keys = compendioKeys(request.medicationCodeableConcept ?? (contained?.resourceType === 'Medication' ? contained.code : undefined));
  const medicationId = reference && /^Medication\/[A-Za-z0-9\-.]{1,64}$/.test(reference) ? reference.slice('Medication/'.length) : undefined;
  if (medicationId) {
    // A referenced Medication outside the catalogue is still held to the group of its Compendio key.
    keys.push(...compendioKeys(parse<Medication>((await readCurrent(db, 'Medication', medicationId))?.content)?.code));
  }
  if (!keys.length && !medicationId) {
    return undefined;
  }
  const rows = await recetaDb(db)
    .selectFrom('receta_catalog')
    .select('controlled_group')
    .where((eb) => eb.or([...(keys.length ? [eb('compendio_key', 'in', keys)] : []), ...(medicationId ? [eb('medication_id', '=', medicationId)] : [])]))
    .execute();
  let group: ControlledGroup | undefined;
  for (const row of rows) {
    group = stricterGroup(group, isControlledGroup(row.controlled_group) ? row.controlled_group : undefined);
  }
  return group;
}
