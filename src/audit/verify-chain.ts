/**
 * Recomputes the audit hash chains (see the audit migration): in each lane,
 * every row's hash must be sha256(prev_hash || facts), every prev_hash the
 * hash of the row before, lane_seq gapless from 1, and the last row must be
 * the lane's recorded head. Reads in pages so memory stays flat however long
 * the trail is.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../store/resource-store.ts';

export interface ChainProblem {
  /** Global seq of the row where the problem shows (or the lane head's position). */
  seq: string;
  problem: string;
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  lanes: number;
  problems: ChainProblem[];
}

const page = 5000;

async function verifyLane(db: Db, lane: number, head: { last_seq: string; last_hash: string }, problems: ChainProblem[]): Promise<number> {
  let previousHash = 'genesis';
  let expected = 1n;
  let checked = 0;
  let after = '0';
  let lastSeq = '';
  for (;;) {
    const rows = await db.selectFrom('audit_event').select(['seq', 'lane_seq', 'facts', 'prev_hash', 'hash']).where('lane', '=', lane).where('lane_seq', '>', after).orderBy('lane_seq').limit(page).execute();
    for (const row of rows) {
      const laneSeq = BigInt(row.lane_seq);
      if (laneSeq !== expected) {
        problems.push({ seq: row.seq, problem: `lane ${lane}: rows ${expected}..${laneSeq - 1n} are missing / faltan filas ${expected}..${laneSeq - 1n} del carril ${lane}` });
      }
      if (row.prev_hash !== previousHash) {
        problems.push({ seq: row.seq, problem: `lane ${lane}: prev_hash does not match the previous row / prev_hash no coincide con la fila anterior` });
      }
      const hash = createHash('sha256').update(row.prev_hash + row.facts, 'utf8').digest('hex');
      if (hash !== row.hash) {
        problems.push({ seq: row.seq, problem: `facts or hash altered / hechos o hash alterados (lane ${lane}, row ${row.lane_seq})` });
      }
      previousHash = row.hash;
      expected = laneSeq + 1n;
      lastSeq = row.seq;
      checked++;
    }
    if (rows.length < page) {
      break;
    }
    after = rows[rows.length - 1]!.lane_seq;
  }
  if (String(expected - 1n) !== String(head.last_seq) || previousHash !== head.last_hash) {
    problems.push({ seq: lastSeq || '0', problem: `lane ${lane}: the trail does not end at the recorded head (rows removed at the end?) / el carril ${lane} no termina en la cabeza registrada` });
  }
  return checked;
}

export async function verifyChain(db: Db): Promise<ChainReport> {
  const heads = await db.selectFrom('audit_chain').select(['lane', 'last_seq', 'last_hash']).orderBy('lane').execute();
  const problems: ChainProblem[] = [];
  let checked = 0;
  for (const head of heads) {
    checked += await verifyLane(db, head.lane, head, problems);
  }
  return { ok: problems.length === 0, checked, lanes: heads.length, problems };
}
