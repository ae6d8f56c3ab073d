/**
 * What each side may change in a referral Task besides its status. The
 * receiving unit runs the work; the referring unit may only add notes and
 * inputs (e.g. the studies the receiving unit asked for) and set the
 * business sub-states it owns. What names the referral (focus, patient, the
 * two units, code, intent) never changes: a different referral is a new one.
 */
import type { Task } from '@medplum/fhirtypes';
import { forbidden } from '../auth/guard.ts';
import { unprocessable } from '../fhir/errors.ts';
import { businessStatusSystem, idOf } from './systems.ts';
import type { Move, Side } from './task-machine.ts';

export const immutableElements = ['intent', 'code', 'focus', 'for', 'requester', 'owner'] as const;
/** Elements the server or any client may restate freely. */
const ignored = new Set(['resourceType', 'id', 'meta', 'lastModified']);
const referringMay = new Set(['note', 'input', 'businessStatus']);

/** Business sub-states (Task.businessStatus) and the side that sets each; codes a network adds belong to the receiving side. */
export const businessStatusOwner: Record<string, Side> = {
  'awaiting-information': 'receiving',
  'information-sent': 'referring',
  'visit-scheduled': 'receiving',
  'visit-complete': 'receiving',
};

export function ownerOfBusinessStatus(task: Task): Side | undefined {
  const coding = task.businessStatus?.coding?.find((c) => c.system === businessStatusSystem) ?? task.businessStatus?.coding?.[0];
  if (!task.businessStatus) return undefined;
  return (coding?.code && businessStatusOwner[coding.code]) || 'receiving';
}

/** Top-level elements whose value differs between two versions (meta and lastModified aside). */
export function changedElements(before: Task, after: Task): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const a = before as unknown as Record<string, unknown>;
  const b = after as unknown as Record<string, unknown>;
  return [...keys].filter((k) => !ignored.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

/** Composition ids named in Task.output (the contrarreferencia). */
export function outputCompositions(task: Task): string[] {
  return (task.output ?? []).flatMap((o) => {
    const id = idOf('Composition', o.valueReference?.reference);
    return id ? [id] : [];
  });
}

export interface FieldQuestion {
  before: Task;
  after: Task;
  side: Side | undefined;
  /** The status move being made, if any (see task-machine.ts). */
  move: Move | undefined;
}

/** Throws when a side changes what it may not, or a move lacks what it requires. */
export function checkTaskFields({ before, after, side, move }: FieldQuestion): void {
  const changed = changedElements(before, after);
  const fixed = changed.filter((k) => (immutableElements as readonly string[]).includes(k));
  if (fixed.length > 0) {
    throw unprocessable(
      { es: `${fixed.join(', ')} de una tarea de referencia no cambia: para otra unidad o paciente se envía otra referencia`, en: `${fixed.join(', ')} of a referral task never changes: another unit or patient needs another referral` },
      fixed.map((k) => `Task.${k}`),
      'business-rule',
    );
  }
  if (side === 'referring') {
    const own = new Set(referringMay);
    if (move?.to === 'cancelled') {
      own.add('status').add('statusReason');
    }
    const foreign = changed.filter((k) => !own.has(k));
    if (foreign.length > 0) {
      throw forbidden(
        {
          es: `La unidad que refiere solo puede cambiar note, input y el businessStatus que le toca (y cancelar); no ${foreign.join(', ')}`,
          en: `The referring unit may only change note, input and the businessStatus it owns (and cancel); not ${foreign.join(', ')}`,
        },
        foreign.map((k) => `Task.${k}`).join(', '),
      );
    }
  }
  if (side && changed.includes('businessStatus')) {
    const owner = ownerOfBusinessStatus(after) ?? 'receiving';
    if (owner !== side) {
      const code = after.businessStatus?.coding?.[0]?.code ?? '';
      throw forbidden(
        { es: `El businessStatus "${code}" lo pone la otra unidad de la referencia`, en: `businessStatus "${code}" is set by the other unit of the referral` },
        'Task.businessStatus',
      );
    }
  }
  if (move?.requires === 'statusReason' && !after.statusReason?.text && !(after.statusReason?.coding ?? []).some((c) => c.code)) {
    throw unprocessable({ es: `Pasar a ${move.to} requiere statusReason (el motivo)`, en: `Moving to ${move.to} requires statusReason (the reason)` }, 'Task.statusReason', 'required');
  }
  if (move?.requires === 'output' && outputCompositions(after).length === 0) {
    throw unprocessable(
      { es: 'Completar la referencia requiere output con la contrarreferencia (valueReference a una Composition)', en: 'Completing the referral requires output with the contrarreferencia (valueReference to a Composition)' },
      'Task.output',
      'required',
    );
  }
}
