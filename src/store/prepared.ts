/**
 * Statements that carry the `prepared` comment are prepared once per
 * connection (named after a hash of their text) and afterwards only bound
 * and executed. Parsing and planning were a third of the database time of a
 * write on the bench machine (resource row plus index rows, in a
 * transaction: 581 µs ad hoc, 389 µs prepared). Only fixed-shape statements
 * carry the comment (the write in persist.ts, reads by id, audit appends), so
 * each connection holds a small, bounded set of plans; searches, whose SQL
 * varies with every query, are planned each time as before.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';

/** The comment itself, for statements written as text (CompiledQuery.raw). */
export const preparedMarker = '/*prepared*/';

/** Put at the start of a statement (or with `.modifyFront` on a select) to have it prepared. */
export const prepared = sql.raw(preparedMarker);

const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `ecu_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

type Query = (...args: unknown[]) => unknown;

/** Makes the pool's connections prepare marked statements (Kysely's driver passes text and values only). */
export function prepareMarkedStatements(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as Query;
    (client as unknown as { query: Query }).query = (config: unknown, values?: unknown, callback?: unknown) => {
      if (typeof config === 'string' && callback === undefined && config.includes(preparedMarker)) {
        // A Query built from the text, named afterwards: pg copies a config object ({ name, text, values })
        // through its property descriptors on every call, which cost ~10 µs of each read by id.
        const submitted = new pg.Query(config, values as unknown[]) as pg.Query & { name?: string; callback?: (err: Error | null, res?: unknown) => void };
        submitted.name = nameOf(config);
        return new Promise((resolve, reject) => {
          submitted.callback = (err, res) => (err ? reject(err) : resolve(res));
          query(submitted);
        });
      }
      return query(config, values, callback);
    };
  });
}
