/**
 * The state machine of a referral's Task (Clinical Order Workflows, "fulfill"
 * Task; https://hl7.org/fhir/R4/task.html#statemachine): who may move it from
 * where to where and what each move must carry. HAPI and Medplum store Task
 * with any status; a referral network needs the receiving unit to own the
 * work and the referring unit to keep only the right to withdraw it.
 */
import type { Task } from '@medplum/fhirtypes';
import { conflict, type Message } from '../fhir/errors.ts';

export type TaskStatus = Task['status'];
/** Which end of the referral a caller is on: the unit that receives it (Task.owner) or the one that sent it (Task.requester). */
export type Side = 'receiving' | 'referring';
export type Requirement = 'statusReason' | 'output';

export interface Move {
  to: TaskStatus;
  by: Side;
  requires?: Requirement;
}

const R = 'receiving' as const;
const S = 'referring' as const;
const cancel: Move = { to: 'cancelled', by: S };
const hold: Move = { to: 'on-hold', by: R };
const fail: Move = { to: 'failed', by: R, requires: 'statusReason' };

/** Every move allowed from each status; on-hold goes back where it came from (see `movesFrom`). Absent: final. */
export const taskTransitions: Partial<Record<TaskStatus, readonly Move[]>> = {
  requested: [{ to: 'received', by: R }, { to: 'rejected', by: R, requires: 'statusReason' }, cancel],
  received: [{ to: 'accepted', by: R }, { to: 'rejected', by: R, requires: 'statusReason' }, hold, cancel],
  accepted: [{ to: 'in-progress', by: R }, hold, fail, cancel],
  'in-progress': [{ to: 'completed', by: R, requires: 'output' }, hold, fail, cancel],
  'on-hold': [fail, cancel],
};

export const finalStatuses: ReadonlySet<TaskStatus> = new Set(['rejected', 'cancelled', 'completed', 'failed', 'entered-in-error']);
/** Where a Task may be put on hold from, and so where it may return to. */
export const holdable: ReadonlySet<TaskStatus> = new Set(['received', 'accepted', 'in-progress']);

/** The moves out of `from`; out of on-hold, the return to `heldFrom` (the status before the hold) comes first. */
export function movesFrom(from: TaskStatus, heldFrom?: TaskStatus): readonly Move[] {
  const moves = taskTransitions[from] ?? [];
  if (from === 'on-hold' && heldFrom && holdable.has(heldFrom)) {
    return [{ to: heldFrom, by: R }, ...moves];
  }
  return moves;
}

const sideWords: Record<Side, Message> = {
  receiving: { es: 'la unidad receptora (Task.owner)', en: 'the receiving unit (Task.owner)' },
  referring: { es: 'la unidad que refiere (Task.requester)', en: 'the referring unit (Task.requester)' },
};

const requirementWords: Record<Requirement, Message> = {
  statusReason: { es: 'con statusReason', en: 'with statusReason' },
  output: { es: 'con output: la contrarreferencia (Composition)', en: 'with output: the contrarreferencia (Composition)' },
};

/** "received (la unidad receptora …), cancelled (…)" in both languages. */
export function describeMoves(moves: readonly Move[]): Message {
  if (moves.length === 0) {
    return { es: 'ninguna: es un estado final', en: 'none: it is a final status' };
  }
  const one = (m: Move, lang: keyof Message) => `${m.to} (${sideWords[m.by][lang]}${m.requires ? `, ${requirementWords[m.requires][lang]}` : ''})`;
  return { es: moves.map((m) => one(m, 'es')).join(', '), en: moves.map((m) => one(m, 'en')).join(', ') };
}

export interface TransitionQuestion {
  from: TaskStatus;
  to: TaskStatus;
  /** Undefined when nobody is calling (internal writes, security off): only the table is checked. */
  side: Side | undefined;
  heldFrom?: TaskStatus;
}

/**
 * The move asked for, or a 409 saying which moves are allowed from here and
 * by whom. Staying in the same status is no move (field rules still apply).
 */
export function checkTransition(q: TransitionQuestion): Move | undefined {
  if (q.from === q.to) {
    return undefined;
  }
  const moves = movesFrom(q.from, q.heldFrom);
  const move = moves.find((m) => m.to === q.to);
  if (move && (q.side === undefined || move.by === q.side)) {
    return move;
  }
  const allowed = describeMoves(moves);
  const who = move ? { es: ` Solo ${sideWords[move.by].es} puede hacerlo.`, en: ` Only ${sideWords[move.by].en} may do it.` } : { es: '', en: '' };
  throw conflict(
    {
      es: `La tarea de referencia no puede pasar de ${q.from} a ${q.to}.${who.es} Desde ${q.from} se permite: ${allowed.es}`,
      en: `The referral task cannot move from ${q.from} to ${q.to}.${who.en} From ${q.from} allowed: ${allowed.en}`,
    },
    'Task.status',
  );
}
