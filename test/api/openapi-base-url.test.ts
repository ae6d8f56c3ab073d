/** Behind a proxy (FHIR_BASE_URL), Swagger UI's server is the public origin and prefix, whatever Host the proxy sends. */
import { expect, test } from 'vitest';
import { useTestApp } from '../support/app.ts';

const t = useTestApp({ publicBaseUrl: 'https://salud.example.gob.mx/ecu/fhir' });

test('Swagger UI server from FHIR_BASE_URL', async () => {
  const spec = await t.request({ method: 'GET', url: '/docs/json', headers: { host: '10.0.0.7:8080' } });
  expect((JSON.parse(spec.body) as { servers: { url: string }[] }).servers).toEqual([{ url: 'https://salud.example.gob.mx/ecu' }]);
});
