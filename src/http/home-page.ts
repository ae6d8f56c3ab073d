/**
 * `GET /`: a small page for whoever opens the server in a browser (a new user
 * after `npm start`), pointing at the API docs, the CapabilityStatement and
 * the README's first steps, instead of a JSON 404.
 */
import type { FastifyInstance } from 'fastify';

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function homePage(basePath: string): string {
  const base = escapeHtml(basePath);
  return `<!doctype html>
<html lang="es">
<head><meta charset="utf-8"><title>ECU FHIR</title></head>
<body>
<h1>ECU FHIR — Expediente Clínico Único</h1>
<p>Servidor FHIR R4 para el Expediente Clínico Único. / FHIR R4 server for the Mexican unified clinical record.</p>
<ul>
<li><a href="/docs">/docs</a>: API (Swagger UI; <a href="/openapi.yaml">openapi.yaml</a>)</li>
<li><a href="${base}/metadata">${base}/metadata</a>: CapabilityStatement (sin token / no token needed)</li>
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>: salud / health</li>
</ul>
<h2>Primeros pasos / First steps</h2>
<p>Ver «First steps» en el README.md del repositorio; en resumen, en la carpeta del servidor: /
See "First steps" in the repository's README.md; in short, in the server's folder:</p>
<pre>npm run seed                      # datos de demostración / demo data
export TOKEN=$(npm run -s token -- --role clinician --sub dra.lopez --clues DFIMS000011 | tail -1)
curl -s -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8080${base}/Patient?name=jose'</pre>
</body>
</html>
`;
}

export function registerHomePage(app: FastifyInstance, basePath: string): void {
  const page = homePage(basePath);
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
}
