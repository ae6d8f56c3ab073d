/**
 * Inside every Task write's transaction: a referral's Task moves only by the
 * state machine (task-machine.ts), each side changes only what it owns
 * (task-fields.ts), and completing it needs the contrarreferencia. A Task the
 * server did not create for a referral cannot claim one (exactly one per
 * referral), and a referral's Task is never deleted.
 */
import type { Composition, Task } from '@medplum/fhirtypes';
import { rowAccessFor } from '../auth/readable.ts';
import { conflict, unprocessable } from '../fhir/errors.ts';
import type { WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import type { RowAccess } from '../search/row-access.ts';
import type { Db } from '../store/resource-store.ts';
import { parseContent, readResource, referralByRequest, referralByTask } from './referral-store.ts';
import { sideOf } from './side.ts';
import { consultNote, hasCoding, idOf, loinc } from './systems.ts';
import { referralDb } from './tables.ts';
import { outputCompositions, checkTaskFields } from './task-fields.ts';
import { checkTransition, holdable, type TaskStatus } from './task-machine.ts';

export async function taskHook(tx: Db, { stored, previous }: WrittenVersion, ctx: FhirContext): Promise<void> {
  const next = parseContent<Task>(stored.content);
  const before = parseContent<Task>(previous?.content);
  const row = await referralByTask(tx, stored.id);
  if (!row) {
    const claimed = idOf('ServiceRequest', next?.focus?.reference);
    const referral = claimed ? await referralByRequest(tx, claimed) : undefined;
    if (referral) {
      throw conflict(
        { es: `ServiceRequest/${claimed ?? ''} ya tiene su tarea (Task/${referral.task_id}): una referencia tiene exactamente una`, en: `ServiceRequest/${claimed ?? ''} already has its task (Task/${referral.task_id}): a referral has exactly one` },
        'Task.focus',
      );
    }
    return;
  }
  if (!before) {
    // The first version is the server's own, written with the referral (service-request-hook.ts).
    return;
  }
  if (!next) {
    throw conflict({ es: `Task/${stored.id} es la tarea de una referencia: no se borra; cancélela o márquela failed`, en: `Task/${stored.id} is a referral's task: it is not deleted; cancel it or mark it failed` });
  }
  const side = sideOf(ctx.actor, row);
  const move = checkTransition({ from: before.status, to: next.status, side, heldFrom: (row.held_from ?? undefined) as TaskStatus | undefined });
  checkTaskFields({ before, after: next, side, move });
  if (move?.requires === 'output') {
    await checkContrarreferencia(tx, next, row.patient_id, rowAccessFor(ctx.actor));
  }
  if (move) {
    const heldFrom = move.to === 'on-hold' && holdable.has(before.status) ? before.status : null;
    await referralDb(tx).updateTable('referral').set({ held_from: heldFrom }).where('task_id', '=', stored.id).execute();
  }
}

/** Each Composition in output exists, is a consult note (LOINC 11488-4, nota de interconsulta) and is about the referred patient. */
async function checkContrarreferencia(tx: Db, task: Task, patientId: string, access: RowAccess | undefined): Promise<void> {
  for (const id of outputCompositions(task)) {
    const composition = await readResource<Composition>(tx, 'Composition', id, access);
    const ok = composition !== undefined && hasCoding(composition.type, loinc, consultNote) && idOf('Patient', composition.subject?.reference) === patientId && composition.status !== 'entered-in-error';
    if (!ok) {
      throw unprocessable(
        {
          es: `Composition/${id} no es una contrarreferencia de este paciente: debe existir, con type LOINC ${consultNote} (nota de interconsulta) y subject Patient/${patientId}`,
          en: `Composition/${id} is not a contrarreferencia for this patient: it must exist, with type LOINC ${consultNote} (consult note) and subject Patient/${patientId}`,
        },
        'Task.output',
        'business-rule',
      );
    }
  }
}
