/**
 * The referral network's one write hook, dispatching by resource type: the
 * referral (ServiceRequest) and its Task, slot booking (Appointment), and the
 * telemedicine consent of virtual encounters. Runs in each write's
 * transaction (src/fhir/persist.ts), so a refused write leaves nothing.
 */
import type { WriteHook } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { referralByTask } from './referral-store.ts';
import { appointmentHook } from './appointment-hook.ts';
import { encounterHook, needsConsentCheck, type ConsentPolicy } from './encounter-hook.ts';
import { serviceRequestHook } from './service-request-hook.ts';
import { taskHook } from './task-hook.ts';

export interface ReferralOptions {
  /** TELEMEDICINE_CONSENT (default required): see encounter-hook.ts for why. */
  telemedicineConsent?: ConsentPolicy;
}

export function referralWriteHook(options: ReferralOptions = {}): WriteHook {
  const consent = options.telemedicineConsent ?? 'required';
  const hook: WriteHook = async (tx, written, ctx) => {
    switch (written.stored.resourceType) {
      case 'ServiceRequest':
        return serviceRequestHook(tx, written, ctx);
      case 'Task':
        return taskHook(tx, written, ctx);
      case 'Appointment':
        return appointmentHook(tx, written, ctx);
      case 'Encounter':
        return consent === 'required' ? encounterHook(tx, written, ctx) : undefined;
      default:
        return;
    }
  };
  hook.types = consent === 'required' ? ['ServiceRequest', 'Task', 'Appointment', 'Encounter'] : ['ServiceRequest', 'Task', 'Appointment'];
  // An encounter that is not (newly) virtual has nothing to check: without this every Encounter of a bundle or an
  // import (a tenth of Synthea's resources) was written alone, flushing the set-based statement before it.
  hook.idle = (written) => written.stored.resourceType === 'Encounter' && !needsConsentCheck(written);
  return hook;
}

/** A referral's Task carries workflow state two units write: a blind overwrite could undo the other's move. */
export const referralTaskNeedsIfMatch: NonNullable<FhirContext['requiresIfMatch']> = async (current, ctx) =>
  current.resourceType === 'Task' && (await referralByTask(ctx.db, current.id)) !== undefined;
