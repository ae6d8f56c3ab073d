/**
 * The independent write batch of batch bundles (src/fhir/write-batch.ts) on
 * real PostgreSQL: when the one set-based statement fails, each create is
 * written alone and only the one that still fails is reported; its index
 * rows never reach the tables, the others' do. (A failing create cannot be
 * provoked through HTTP: ids are random UUIDs, so a taken id is made here.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { WriteBatch } from '../../src/fhir/write-batch.ts';
import type { BatchedStatement } from '../../src/fhir/persist.ts';
import type { FhirContext } from '../../src/fhir/types.ts';
import { stamp } from '../../src/fhir/versioning.ts';
import { indexWriteStatement } from '../../src/search/write-index.ts';
import { connect } from '../../src/store/connect.ts';
import type { Database } from '../../src/store/database.ts';

let db: Kysely<Database>;
beforeAll(() => {
  db = connect({ databaseUrl: inject('databaseUrl'), maxConnections: 2 });
});
afterAll(async () => {
  await db.destroy();
});

const observation = (text: string) => stamp({ resourceType: 'Observation', status: 'final', code: { text } } as never, randomUUID(), 1, new Date());

async function tokenRows(id: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM sp_token WHERE resource_type = 'Observation' AND id = ${id}`.execute(db);
  return Number(rows[0]?.n);
}

test('a create that cannot be written fails alone: the batch falls back to one statement per create', async () => {
  const statements = [indexWriteStatement.batched as BatchedStatement];
  const ctx = {} as FhirContext;
  const taken = observation('first');
  await db.transaction().execute(async (tx) => {
    const batch = new WriteBatch(tx);
    batch.add({ stored: taken, previous: undefined }, ctx, statements);
    await batch.close();
  });
  const before = await tokenRows(taken.id);
  expect(before).toBeGreaterThan(0);
  const fresh = [observation('a'), observation('b')];
  const failures = await db.transaction().execute(async (tx) => {
    const batch = new WriteBatch(tx, { independent: true });
    batch.setTag(0);
    batch.add({ stored: fresh[0]!, previous: undefined }, ctx, statements);
    batch.setTag(1);
    batch.add({ stored: { ...taken, content: observation('again').content }, previous: undefined }, ctx, statements);
    batch.setTag(2);
    batch.add({ stored: fresh[1]!, previous: undefined }, ctx, statements);
    await batch.close();
    return batch.failures;
  });
  expect([...failures.keys()]).toEqual([1]);
  expect(failures.get(1)?.status).toBe(409);
  for (const v of fresh) expect(await tokenRows(v.id), v.id).toBeGreaterThan(0);
  // The taken id kept its rows, not doubled by the failed attempt.
  expect(await tokenRows(taken.id)).toBe(before);
  const { rows } = await sql<{ content: string }>`SELECT content FROM resource WHERE resource_type = 'Observation' AND id = ${taken.id}`.execute(db);
  expect(rows[0]?.content).toContain('"first"');
});

test('without independence (transactions, imports) the same failure fails the whole transaction', async () => {
  const taken = observation('x');
  const statements = [indexWriteStatement.batched as BatchedStatement];
  await db.transaction().execute(async (tx) => {
    const batch = new WriteBatch(tx);
    batch.add({ stored: taken, previous: undefined }, {} as FhirContext, statements);
    await batch.close();
  });
  const other = observation('y');
  await expect(
    db.transaction().execute(async (tx) => {
      const batch = new WriteBatch(tx);
      batch.add({ stored: other, previous: undefined }, {} as FhirContext, statements);
      batch.add({ stored: taken, previous: undefined }, {} as FhirContext, statements);
      await batch.close();
    }),
  ).rejects.toMatchObject({ status: 409 });
  expect(await tokenRows(other.id)).toBe(0);
});

test('sendEvery (imports): creates go out every n without waiting, a read after them sees them all, and an early failure fails the close', async () => {
  const statements = [indexWriteStatement.batched as BatchedStatement];
  const ctx = {} as FhirContext;
  const many = Array.from({ length: 7 }, (_, i) => observation(`ahead ${i}`));
  const seen = await db.transaction().execute(async (tx) => {
    const batch = new WriteBatch(tx, { sendEvery: 3 });
    for (const v of many) batch.add({ stored: v, previous: undefined }, ctx, statements);
    // Two statements of 3 are on their way, one create still pending: the flush sends it and waits for all three.
    await batch.flush();
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM sp_token WHERE resource_type = 'Observation' AND id = ANY(${many.map((v) => v.id)}::text[])`.execute(tx);
    await batch.close();
    return Number(rows[0]?.n);
  });
  expect(seen).toBeGreaterThanOrEqual(7);
  for (const v of many) expect(await tokenRows(v.id), v.id).toBeGreaterThan(0);

  // A taken id in the first statement sent ahead: the close throws that conflict and nothing of the transaction stays.
  const taken = many[0]!;
  const others = [observation('p'), observation('q'), observation('r')];
  await expect(
    db.transaction().execute(async (tx) => {
      const batch = new WriteBatch(tx, { sendEvery: 2 });
      batch.add({ stored: others[0]!, previous: undefined }, ctx, statements);
      batch.add({ stored: { ...taken, content: observation('again').content }, previous: undefined }, ctx, statements);
      batch.add({ stored: others[1]!, previous: undefined }, ctx, statements);
      batch.add({ stored: others[2]!, previous: undefined }, ctx, statements);
      await batch.close();
    }),
  ).rejects.toMatchObject({ status: 409 });
  for (const v of others) expect(await tokenRows(v.id), v.id).toBe(0);
});

test('the contents go out as one array literal and come back exactly as written: quotes, backslashes, escapes, non-ASCII, and a raw control character (pg escapes that one)', async () => {
  const statements = [indexWriteStatement.batched as BatchedStatement];
  const tricky = observation('dijo "hola" \\ c:\\temp\\ \\n no es salto, sí es: \n tab\t é ñ 😀 \u2028 \\u00e9 {a,b} NULL');
  const raw = observation('x');
  raw.content = raw.content!.replace('{', '{\n  ');
  for (const list of [[tricky], [raw], [tricky, raw].map((v) => ({ ...v, id: randomUUID() }))]) {
    await db.transaction().execute(async (tx) => {
      const batch = new WriteBatch(tx);
      for (const v of list) batch.add({ stored: v, previous: undefined }, {} as FhirContext, statements);
      await batch.close();
    });
    for (const v of list) {
      const { rows } = await sql<{ content: string }>`SELECT content FROM resource WHERE resource_type = 'Observation' AND id = ${v.id}`.execute(db);
      expect(rows[0]?.content, v.id).toBe(v.content);
    }
  }
});
