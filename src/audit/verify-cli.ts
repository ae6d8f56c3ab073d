/** `npm run audit:verify`: checks the audit hash chain of DATABASE_URL (or the embedded database in DATA_DIR). */
import { connect } from '../store/connect.ts';
import { withDatabase } from '../store/database-url.ts';
import { verifyChain } from './verify-chain.ts';

let ok = false;
try {
  await withDatabase(async (databaseUrl) => {
    const db = connect({ databaseUrl, maxConnections: 1 });
    try {
      const report = await verifyChain(db);
      for (const p of report.problems) {
        console.error(`seq ${p.seq}: ${p.problem}`);
      }
      console.log(report.ok ? `OK: ${report.checked} audit rows in ${report.lanes} lanes, chain intact` : `TAMPERED: ${report.problems.length} problem(s) in ${report.checked} rows`);
      ok = report.ok;
    } finally {
      await db.destroy();
    }
  });
} catch (err) {
  console.error(`audit:verify failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
// Explicit: the embedded database's exit hook would otherwise turn any exit code into 0.
process.exit(ok ? 0 : 1);
