/**
 * The fan-out's cursor over `resource_history` (migration
 * 20261201160000_subscription_history_tail): the history rows written by the
 * writes themselves are the outbox, so a create costs no row of its own.
 *
 * History `seq` numbers are taken in time order (an identity with the
 * default CACHE 1: one sequence, no per-session blocks), but transactions commit in
 * any order: when the fan-out reads, a number below a committed row may be
 * missing because its transaction is still running (it will commit later) or
 * rolled back (never). So the cursor is `high` (every row up to it was seen)
 * and the gaps below it, each with the fan-out's own transaction id at the
 * time it found the gap (`xid`). Why that id decides: the holder of a gap
 * took its number before the committed row above it, so it had its
 * transaction id (taken by its `resource` row, before the history trigger
 * ran) before the fan-out's read; the fan-out's own id is assigned after that
 * read, so it is greater. Once no transaction with an id up to `xid` is
 * running (`xid < pg_snapshot_xmin(pg_current_snapshot())`), the holder has
 * ended: if its row is not there in that snapshot it never will be. A gap
 * costs nothing until then: rows after it are fanned out at once (no
 * head-of-line blocking behind a long transaction), each exactly once.
 */

export interface Gap {
  lo: number;
  hi: number;
  /** The fan-out transaction's id when the gap was found (xid8 as text); null: found by this fan-out, not yet assigned. */
  xid: string | null;
}

export interface CursorState {
  high: number;
  gaps: Gap[];
}

/**
 * The cursor after a read. `final[i]`: gap i was decided in the read's
 * snapshot (what is missing of it rolled back); `inGaps`: the numbers found
 * inside gaps (committed since they were found); `tail`: the numbers found
 * after `high`, ascending (the read's whole page).
 */
export function advance(state: CursorState, final: readonly boolean[], inGaps: readonly number[], tail: readonly number[]): CursorState {
  const found = [...inGaps].sort((a, b) => a - b);
  const gaps: Gap[] = [];
  state.gaps.forEach((g, i) => {
    if (final[i]) return;
    let lo = g.lo;
    for (const s of found) {
      if (s < lo || s > g.hi) continue;
      if (s > lo) gaps.push({ lo, hi: s - 1, xid: g.xid });
      lo = s + 1;
    }
    if (lo <= g.hi) gaps.push({ lo, hi: g.hi, xid: g.xid });
  });
  let next = state.high + 1;
  for (const s of tail) {
    if (s > next) gaps.push({ lo: next, hi: s - 1, xid: null });
    next = s + 1;
  }
  return { high: next - 1, gaps };
}
