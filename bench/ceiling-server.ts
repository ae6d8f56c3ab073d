/**
 * The raw Fastify + pg ceiling: what the stack itself allows on this machine,
 * without FHIR, validation, search index, authentication or audit. One JSONB
 * row inserted per POST, one primary-key lookup per GET, the same pool size
 * and the same node flags as the server. Figures of the server are quoted as
 * ratios to this one measured in the same run, because the machine is noisy.
 */
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
await pool.query('CREATE TABLE IF NOT EXISTS ceiling (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), resource jsonb NOT NULL)');

const app = Fastify({ logger: false });
app.addContentTypeParser(['application/json', 'application/fhir+json'], { parseAs: 'string' }, (_req, body, done) => {
  try {
    done(null, JSON.parse(body as string));
  } catch (err) {
    done(err as Error, undefined);
  }
});
app.get<{ Params: { id: string } }>('/fhir/Patient/:id', async (req, reply) => {
  const { rows } = await pool.query<{ resource: string }>({ name: 'read', text: 'SELECT resource::text AS resource FROM ceiling WHERE id = $1', values: [req.params.id] });
  if (!rows[0]) return reply.code(404).send();
  return reply.type('application/fhir+json').send(rows[0].resource);
});
app.post('/fhir/Patient', async (req, reply) => {
  const { rows } = await pool.query<{ id: string }>({ name: 'insert', text: 'INSERT INTO ceiling (resource) VALUES ($1) RETURNING id', values: [JSON.stringify(req.body)] });
  return reply.code(201).type('application/fhir+json').send({ ...(req.body as object), id: rows[0]!.id });
});
app.get('/readyz', async () => ({ ok: true }));
process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
