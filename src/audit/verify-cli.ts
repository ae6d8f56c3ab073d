/** `npm run audit:verify`: checks the audit hash chain of DATABASE_URL (or the embedded database in DATA_DIR). */
import { parseCli } from '../cli/parse-cli.ts';
import { connect } from '../store/connect.ts';
import { withDatabase } from '../store/database-url.ts';
import { verifyChain } from './verify-chain.ts';

parseCli({
  command: 'audit:verify',
  usage: `
Usage: npm run audit:verify
       (in the Docker image: node dist/src/audit/verify-cli.js)

Recomputes the audit trail's hash chain in DATABASE_URL, else in the embedded database
of \`npm start\` in DATA_DIR, and names any altered, removed or forged row.
Exit status: 0 intact, 1 tampered, 2 could not check.

Options:
  -h, --help    this text
`,
  options: {},
});

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
