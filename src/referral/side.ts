/**
 * Which side of a referral a caller is on: the CLUES of its unit (the token's
 * `clues` claim; institution clients act for their unit) against the CLUES
 * of the Task's owner (receiving unit) and requester (referring unit).
 */
import type { Actor } from '../auth/actor.ts';
import { forbidden } from '../auth/guard.ts';
import type { Side } from './task-machine.ts';

export interface ReferralUnits {
  owner_clues: string;
  requester_clues: string;
}

/**
 * Undefined when nobody is calling (internal writes, benchmarks without
 * security); otherwise the caller's side, or 403 when its unit is neither.
 */
export function sideOf(actor: Actor | undefined, units: ReferralUnits): Side | undefined {
  if (!actor) {
    return undefined;
  }
  if (actor.clues !== undefined && actor.clues === units.owner_clues) {
    return 'receiving';
  }
  if (actor.clues !== undefined && actor.clues === units.requester_clues) {
    return 'referring';
  }
  throw forbidden(
    {
      es: `Solo las unidades de la referencia escriben su tarea: la receptora (CLUES ${units.owner_clues}) o la que refiere (CLUES ${units.requester_clues}); el token es de ${actor.clues ? `CLUES ${actor.clues}` : 'ninguna unidad (sin claim clues)'}`,
      en: `Only the referral's units write its task: the receiving one (CLUES ${units.owner_clues}) or the referring one (CLUES ${units.requester_clues}); the token is for ${actor.clues ? `CLUES ${actor.clues}` : 'no unit (no clues claim)'}`,
    },
    'Task',
  );
}
