/**
 * Verifying a receta's signature: the JWS of its Provenance is checked
 * against the canonical payload of the prescriptions as they are now, and,
 * if that fails, as they were signed (history). So the answer tells apart
 * "valid and unchanged", "authentic but the content changed since signing"
 * (which prescriptions), and "not a valid signature" (why).
 */
import type { MedicationRequest, Provenance } from '@medplum/fhirtypes';
import { unprocessable } from '../fhir/errors.ts';
import type { FhirContext } from '../fhir/types.ts';
import { readCurrent, readVersion } from '../store/resource-store.ts';
import { canonicalPayload, signedContentChanged } from './canonical.ts';
import type { RecetaContext } from './context.ts';
import { readItem } from './receta-store.ts';
import { parseContent } from './request-hook.ts';
import { verifyDetached } from './signing-keys.ts';
import { recetaDb } from './tables.ts';

export interface RecetaVerification {
  signatureValid: boolean;
  contentUnchanged: boolean;
  message: { es: string; en: string };
  kid?: string;
  folio: { system: string; value: string };
  provenanceId: string;
  signer: string;
  signedAt: Date;
  /** Prescriptions whose signed content differs from what was signed. */
  changed: string[];
  /** Whose record the answer is about (the prescription's patient compartment). */
  patients: string[];
}

export async function verifyReceta(ctx: FhirContext, recetaCtx: RecetaContext, id: string): Promise<RecetaVerification> {
  const item = await readItem(ctx.db, id);
  if (!item) {
    throw unprocessable({ es: `MedicationRequest/${id} no está firmada (o no existe)`, en: `MedicationRequest/${id} is not signed (or does not exist)` }, 'MedicationRequest', 'not-found');
  }
  const rdb = recetaDb(ctx.db);
  const receta = await rdb.selectFrom('receta').selectAll().where('folio_system', '=', item.folio_system).where('folio', '=', item.folio).executeTakeFirstOrThrow();
  const items = await rdb.selectFrom('receta_item').select(['medication_request_id', 'signed_version']).where('folio_system', '=', item.folio_system).where('folio', '=', item.folio).execute();
  const patients = (await readCurrent(ctx.db, 'MedicationRequest', id))?.patients ?? [];
  const base = { folio: { system: receta.folio_system, value: receta.folio }, provenanceId: receta.provenance_id, signer: receta.requester, signedAt: receta.signed_at, patients };
  const provenance = parseContent<Provenance>((await readCurrent(ctx.db, 'Provenance', receta.provenance_id))?.content);
  const data = provenance?.signature?.[0]?.data;
  if (!data) {
    return { ...base, signatureValid: false, contentUnchanged: false, changed: [], message: { es: `La Provenance ${receta.provenance_id} de la firma falta o no trae firma`, en: `The signature Provenance ${receta.provenance_id} is missing or carries no signature` } };
  }
  const jws = Buffer.from(data, 'base64').toString('utf8');
  const now: MedicationRequest[] = [];
  const then: MedicationRequest[] = [];
  for (const row of items) {
    now.push(parseContent<MedicationRequest>((await readCurrent(ctx.db, 'MedicationRequest', row.medication_request_id))?.content) ?? { resourceType: 'MedicationRequest', id: row.medication_request_id, status: 'unknown', intent: 'order', subject: {} });
    then.push(parseContent<MedicationRequest>((await readVersion(ctx.db, 'MedicationRequest', row.medication_request_id, row.signed_version))?.content) ?? { resourceType: 'MedicationRequest', id: row.medication_request_id, status: 'unknown', intent: 'order', subject: {} });
  }
  const current = await verifyDetached(recetaCtx.keys, jws, canonicalPayload(now));
  if (current.valid) {
    return { ...base, signatureValid: true, contentUnchanged: true, kid: current.kid, changed: [], message: { es: 'Firma válida; el contenido no cambió desde la firma', en: 'Valid signature; the content has not changed since signing' } };
  }
  const signed = await verifyDetached(recetaCtx.keys, jws, canonicalPayload(then));
  if (signed.valid) {
    const changed = then.filter((t, i) => { const n = now[i]; return n === undefined || signedContentChanged(t, n); }).map((t) => t.id ?? '');
    return {
      ...base,
      signatureValid: true,
      contentUnchanged: false,
      kid: signed.kid,
      changed,
      message: { es: `La firma es auténtica pero el contenido cambió desde la firma: ${changed.map((c) => `MedicationRequest/${c}`).join(', ')}`, en: `The signature is authentic but the content changed since signing: ${changed.map((c) => `MedicationRequest/${c}`).join(', ')}` },
    };
  }
  return { ...base, signatureValid: false, contentUnchanged: false, kid: signed.kid, changed: [], message: signed.reason };
}
