/**
 * Inside every MedicationRequest write's transaction: a receta follows its
 * lifecycle (lifecycle.ts) with the facts only the database knows — whether
 * this very version is $sign's, and what the dispense ledger holds.
 */
import type { MedicationRequest, Resource } from '@medplum/fhirtypes';
import { unprocessable } from '../fhir/errors.ts';
import type { WrittenVersion } from '../fhir/persist.ts';
import type { Db } from '../store/resource-store.ts';
import { signedContentChanged } from './canonical.ts';
import { transitionError } from './lifecycle.ts';
import { dispensedSoFar, ledgerWrites, readItem } from './receta-store.ts';
import { isFolio } from './systems.ts';

export function parseContent<T extends Resource>(content: string | null | undefined): T | undefined {
  return content ? (JSON.parse(content) as T) : undefined;
}

export async function medicationRequestHook(tx: Db, { stored, previous }: WrittenVersion, isReceta: (r: MedicationRequest | undefined) => boolean): Promise<void> {
  const next = parseContent<MedicationRequest>(stored.content);
  const before = parseContent<MedicationRequest>(previous?.content);
  if (!isReceta(next) && !isReceta(before)) {
    return;
  }
  const from = before?.status;
  const to = next?.status;
  const item = (from !== undefined && from !== 'draft') || to === 'active' ? await readItem(tx, stored.id) : undefined;
  const signing = from === 'draft' && to === 'active' && item?.signed_version === stored.versionId;
  if (next && !signing && (from === undefined || from === 'draft') && isFolio(next.groupIdentifier)) {
    throw unprocessable(
      { es: 'El folio de la receta (groupIdentifier con system …/sid/receta/{CLUES}) lo emite el servidor al firmar; no lo envíe', en: 'The receta folio (groupIdentifier with system …/sid/receta/{CLUES}) is issued by the server when signing; do not send it' },
      'MedicationRequest.groupIdentifier',
      'business-rule',
    );
  }
  const ledger = item ? await dispensedSoFar(tx, stored.id) : { total: 0, count: 0 };
  const error = transitionError({
    from,
    to,
    contentChanged: before !== undefined && next !== undefined && signedContentChanged(before, next),
    signing,
    fullyDispensed: item !== undefined && ledger.total >= Number(item.max_total),
    anyDispensed: ledger.total > 0,
    byLedger: ledgerWrites.has(stored),
  });
  if (error) {
    throw error;
  }
}
