/**
 * `node bench/write-path-pg.ts [resources]` (after `npm run build`): where PostgreSQL's time goes when a chunk of
 * resources is written set-based (issue 21). A server is loaded with the HIV corpus (prepareIngest), then
 * `resources` of its stored resources (default 500, an import chunk) are written again under new ids, one
 * statement per table as src/fhir/write-batch.ts sends them, each timed on its own inside a transaction that
 * is rolled back: the resource rows (and the history trigger), each index table, the audit rows. (Subscriptions
 * add no rows: their events are read from history, issue 18.)
 * Figures are wall µs per resource on an otherwise idle PostgreSQL (so, near its CPU), best of 3.
 */
import os from 'node:os';
import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import { connect } from '../src/store/connect.ts';
import { auditRow } from '../src/audit/audit-event.ts';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { startServer } from './harness.ts';
import { prepareIngest } from './scenarios/exchange.ts';

class Rollback extends Error {}

loadDefinitions();
const n = Number(process.argv[2] ?? 500);
const load0 = os.loadavg()[0] ?? 0;
const server = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared' } });
const tables = ['sp_string', 'sp_token', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri'];
try {
  await prepareIngest(server);
  const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 1 });
  await sql`ANALYZE`.execute(db);
  const results = new Map<string, number[]>();
  for (let round = 0; round < 3; round++) {
    await db.transaction().execute(async (tx) => {
      await sql`CREATE TEMP TABLE pick ON COMMIT DROP AS SELECT resource_type, id, id || '-c' || ${String(round)} AS nid FROM resource WHERE NOT deleted ORDER BY random() LIMIT ${n}`.execute(tx);
      const time = async (name: string, statement: ReturnType<typeof sql>) => {
        const t0 = performance.now();
        await statement.execute(tx);
        const us = ((performance.now() - t0) * 1000) / n;
        results.set(name, [...(results.get(name) ?? []), us]);
      };
      await time('resource rows (with the history trigger)', sql`INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, patients)
        SELECT r.resource_type, p.nid, 1, now(), false, r.content, r.patients FROM resource r JOIN pick p USING (resource_type, id)`);
      await sql`ALTER TABLE resource DISABLE TRIGGER USER`.execute(tx);
      await time('resource rows (trigger off)', sql`INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, patients)
        SELECT r.resource_type, p.nid || 'b', 1, now(), false, r.content, r.patients FROM resource r JOIN pick p USING (resource_type, id)`);
      await time('history rows (one INSERT … SELECT)', sql`INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, content, patients)
        SELECT r.resource_type, p.nid || 'b', 1, now(), false, r.content, r.patients FROM resource r JOIN pick p USING (resource_type, id)`);
      await sql`ALTER TABLE resource ENABLE TRIGGER USER`.execute(tx);
      for (const table of tables) {
        const { rows } = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND column_name NOT IN ('resource_type', 'id') ORDER BY ordinal_position`.execute(tx);
        const cols = rows.map((r) => sql.id(r.column_name));
        await time(`${table} rows`, sql`INSERT INTO ${sql.table(table)} (resource_type, id, ${sql.join(cols)})
          SELECT s.resource_type, p.nid, ${sql.join(cols.map((c) => sql`s.${c}`))} FROM ${sql.table(table)} s JOIN pick p USING (resource_type, id)`);
      }
      const { rows: picked } = await sql<{ resource_type: string; nid: string; patients: string[] }>`SELECT p.resource_type, p.nid, r.patients FROM pick p JOIN resource r USING (resource_type, id)`.execute(tx);
      const audit = picked.map((p) => auditRow({ id: randomUUID(), recorded: new Date(), interaction: 'update', status: 201, actor: { subject: 'bench', role: 'admin', scope: 'system/*.cruds', clues: 'DFIMS000011' } as never, clientIp: '', requestId: randomUUID(), resourceType: p.resource_type, resourceId: p.nid, versionId: '1', patients: p.patients }));
      await time('audit rows (one audit_append)', sql`SELECT audit_append(${JSON.stringify(audit)}::jsonb, true)`);
      const { rows: counts } = await sql<{ t: string; c: string }>`SELECT 'index rows' AS t, (SELECT count(*) FROM sp_token s JOIN pick p ON s.resource_type = p.resource_type AND s.id = p.nid)
        + (SELECT count(*) FROM sp_reference s JOIN pick p ON s.resource_type = p.resource_type AND s.id = p.nid) + (SELECT count(*) FROM sp_date s JOIN pick p ON s.resource_type = p.resource_type AND s.id = p.nid) AS c`.execute(tx);
      if (round === 0) console.log(`token+reference+date rows for ${n} resources: ${counts[0]?.c}`);
      throw new Rollback();
    }).catch((err: unknown) => {
      if (!(err instanceof Rollback)) throw err;
    });
  }
  await db.destroy();
  console.log(`\nPostgreSQL µs per resource (wall, idle server, best of 3), ${n} resources per statement; load ${load0.toFixed(1)} → ${(os.loadavg()[0] ?? 0).toFixed(1)}\n`);
  console.log('| part | µs per resource |\n|---|---|');
  let total = 0;
  for (const [name, us] of results) {
    const best = Math.min(...us);
    if (!name.includes('trigger off') && !name.startsWith('history')) total += best;
    console.log(`| ${name} | ${best.toFixed(0)} |`);
  }
  console.log(`| **all (as written: resource with trigger + index + audit)** | **${total.toFixed(0)}** |`);
} finally {
  await server.stop();
}

