/**
 * The patient's referrals as summaries show them (issue 17): the open ones
 * (a referral Task still in the receiving unit's hands) and the latest
 * contrarreferencias (the Composition a completed Task returned). Read from
 * the loaded record only: Task, ServiceRequest and Composition are in the
 * patient's compartment, the units are referenced from the Task.
 */
import type { CodeableConcept, Coding, Composition, Organization, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { LoadedResource, PatientRecord } from './load-record.ts';

export const openTaskStatuses: ReadonlySet<string> = new Set(['requested', 'received', 'accepted', 'in-progress', 'on-hold']);
/** How many contrarreferencias a summary shows, newest first. */
export const latestReturned = 5;

export interface ReferralItem {
  task: Task;
  request?: ServiceRequest;
  specialty?: Coding;
  owner?: Organization;
  requester?: Organization;
  /** The contrarreferencia, for a completed Task. */
  note?: Composition;
}

const specialtyOf = (c: CodeableConcept | CodeableConcept[] | undefined) => (Array.isArray(c) ? c : c ? [c] : []).flatMap((x) => x.coding ?? [])[0];

function isReferralTask(task: Task): boolean {
  return (task.code?.coding ?? []).some((c) => c.code === 'fulfill') && (task.focus?.reference ?? '').startsWith('ServiceRequest/');
}

export function referralsOf(record: Pick<PatientRecord, 'compartment'> & Partial<Pick<PatientRecord, 'referenced'>>): { open: ReferralItem[]; returned: ReferralItem[] } {
  const byKey = new Map<string, LoadedResource>(record.compartment.map((r) => [`${r.resource.resourceType}/${r.resource.id}`, r]));
  const find = <T>(ref: string | undefined) => (ref ? ((byKey.get(ref) ?? record.referenced?.get(ref))?.resource as T | undefined) : undefined);
  const items = record.compartment
    .filter((r) => r.resource.resourceType === 'Task' && isReferralTask(r.resource as Task))
    .map((r): ReferralItem & { changed: number } => {
      const task = r.resource as Task;
      const request = find<ServiceRequest>(task.focus?.reference);
      const noteRef = (task.output ?? []).map((o) => o.valueReference?.reference).find((x) => x?.startsWith('Composition/'));
      return {
        task,
        request,
        specialty: specialtyOf(task.performerType) ?? specialtyOf(request?.performerType),
        owner: find<Organization>(task.owner?.reference),
        requester: find<Organization>(task.requester?.reference),
        note: find<Composition>(noteRef),
        changed: r.lastUpdated.getTime(),
      };
    });
  const open = items.filter((i) => openTaskStatuses.has(i.task.status)).sort((a, b) => (a.task.authoredOn ?? '').localeCompare(b.task.authoredOn ?? ''));
  const returned = items
    .filter((i) => i.task.status === 'completed' && i.note)
    .sort((a, b) => (b.note?.date ?? '').localeCompare(a.note?.date ?? '') || b.changed - a.changed)
    .slice(0, latestReturned);
  return { open, returned };
}

/** IPS sections: the ServiceRequests of open referrals, and the latest contrarreferencias. */
export function openReferralRequests(items: readonly LoadedResource[]): LoadedResource[] {
  const wanted = new Set(referralsOf({ compartment: [...items] }).open.map((i) => i.task.focus?.reference));
  return items.filter((i) => i.resource.resourceType === 'ServiceRequest' && wanted.has(`ServiceRequest/${i.resource.id}`));
}

export function latestContrarreferencias(items: readonly LoadedResource[]): LoadedResource[] {
  const wanted = new Set(referralsOf({ compartment: [...items] }).returned.map((i) => `Composition/${i.note?.id}`));
  return items.filter((i) => i.resource.resourceType === 'Composition' && wanted.has(`Composition/${i.resource.id}`));
}
