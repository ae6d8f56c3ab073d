/**
 * Inside every ServiceRequest write's transaction: a referral follows the
 * mx-referencia rules and the network, and its first version creates its one
 * Task (code fulfill, owner = receiving unit, requester = referring unit) in
 * the same transaction, so there is never a referral without its Task nor a
 * Task without its referral. The folio is unique in `referral`: a resend with
 * If-None-Exist finds the first one; a resend without it is a 409, never a
 * second referral.
 */
import { randomUUID } from 'node:crypto';
import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import { conflict, invalidResource, unprocessable } from '../fhir/errors.ts';
import { persist, type WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { stamp } from '../fhir/versioning.ts';
import type { Db } from '../store/resource-store.ts';
import { resolveParties, type ReferralParties } from './network.ts';
import { fixedReferralElements, folioOf, isReferral, referralIssues } from './referral-request.ts';
import { parseContent, referralByRequest } from './referral-store.ts';
import { idOf, taskCodeSystem } from './systems.ts';
import { referralDb } from './tables.ts';

export async function serviceRequestHook(tx: Db, { stored, previous }: WrittenVersion, ctx: FhirContext): Promise<void> {
  const next = parseContent<ServiceRequest>(stored.content);
  const before = parseContent<ServiceRequest>(previous?.content);
  if (!isReferral(next) && !isReferral(before)) {
    return;
  }
  const row = await referralByRequest(tx, stored.id);
  if (!next) {
    if (row) {
      throw conflict({ es: `ServiceRequest/${stored.id} es una referencia: no se borra; cancele su tarea (Task/${row.task_id})`, en: `ServiceRequest/${stored.id} is a referral: it is not deleted; cancel its task (Task/${row.task_id})` });
    }
    return;
  }
  if (row && !isReferral(next)) {
    throw unprocessable({ es: 'Una referencia sigue siendo referencia (category 3457005)', en: 'A referral stays a referral (category 3457005)' }, 'ServiceRequest.category', 'business-rule');
  }
  const issues = referralIssues(next);
  if (issues.length > 0) {
    throw invalidResource(issues, 422);
  }
  if (row && before) {
    const changed = fixedReferralElements.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k]));
    if (changed.length > 0) {
      throw unprocessable(
        { es: `${changed.join(', ')} de una referencia enviada no cambia: envíe otra referencia`, en: `${changed.join(', ')} of a sent referral never changes: send another referral` },
        changed.map((k) => `ServiceRequest.${k}`),
        'business-rule',
      );
    }
    return;
  }
  if (next.status !== 'active') {
    throw unprocessable({ es: 'Una referencia se envía con status active', en: 'A referral is sent with status active' }, 'ServiceRequest.status', 'business-rule');
  }
  await createTask(tx, ctx, stored.id, next, await resolveParties(tx, ctx, next));
}

async function createTask(tx: Db, ctx: FhirContext, serviceRequestId: string, sr: ServiceRequest, parties: ReferralParties): Promise<void> {
  const folio = folioOf(sr);
  const folioKey = `${folio?.system ?? ''}|${folio?.value ?? ''}`;
  const taskId = randomUUID();
  const inserted = await referralDb(tx)
    .insertInto('referral')
    .values({
      service_request_id: serviceRequestId,
      task_id: taskId,
      folio: folioKey,
      patient_id: idOf('Patient', sr.subject?.reference) ?? '',
      requester_org: parties.requesterOrg,
      owner_org: parties.ownerOrg,
      requester_clues: parties.requesterClues,
      owner_clues: parties.ownerClues,
      held_from: null,
      created: ctx.now(),
    })
    .onConflict((oc) => oc.column('folio').doNothing())
    .returning('task_id')
    .executeTakeFirst();
  if (!inserted) {
    const first = await referralDb(tx).selectFrom('referral').select(['service_request_id', 'task_id']).where('folio', '=', folioKey).executeTakeFirstOrThrow();
    throw conflict(
      {
        es: `El folio ${folio?.value ?? ''} ya se envió: ServiceRequest/${first.service_request_id} (Task/${first.task_id}); para reenviar sin duplicar use If-None-Exist: identifier=${folioKey}`,
        en: `Folio ${folio?.value ?? ''} was already sent: ServiceRequest/${first.service_request_id} (Task/${first.task_id}); to resend without duplicating use If-None-Exist: identifier=${folioKey}`,
      },
      'ServiceRequest.identifier',
    );
  }
  const now = ctx.now();
  const task: Task = {
    resourceType: 'Task',
    identifier: folio ? [folio] : undefined,
    status: 'requested',
    intent: 'order',
    priority: sr.priority,
    code: { coding: [{ system: taskCodeSystem, code: 'fulfill', display: 'Fulfill the focal request' }] },
    focus: { reference: `ServiceRequest/${serviceRequestId}` },
    for: sr.subject,
    authoredOn: now.toISOString(),
    lastModified: now.toISOString(),
    requester: { reference: `Organization/${parties.requesterOrg}` },
    owner: { reference: `Organization/${parties.ownerOrg}` },
    performerType: sr.performerType ? [sr.performerType] : undefined,
  };
  // The Task is written like any other (indexes, audit record) on the same transaction.
  if (!(await persist({ ...ctx, db: tx }, stamp(task, taskId, 1, now), undefined))) {
    throw conflict({ es: 'Colisión de id al crear la tarea; reintente', en: 'Id collision creating the task; retry' });
  }
}
