/**
 * `npm run token -- --role clinician --sub dr-lopez [--clues DFIMS000011] [--scope "..."] [--patient id] [--fhir-user Practitioner/id] [--hours 8]`
 * Mints a token signed by the development key, which `npm start` trusts only
 * while no AUTH_ISSUER is configured. The bare token is the last line printed.
 */
import { parseArgs } from 'node:util';
import { importJWK, SignJWT } from 'jose';
import { devAlgorithm, devIssuer, devKeyFile, loadOrCreateDevKey } from './dev-key.ts';
import { defaultScopes, isRole, roles } from './roles.ts';

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    sub: { type: 'string' },
    scope: { type: 'string' },
    patient: { type: 'string' },
    clues: { type: 'string' },
    name: { type: 'string' },
    'fhir-user': { type: 'string' },
    hours: { type: 'string', default: '8' },
  },
});

if (!isRole(values.role)) {
  console.error(`--role must be one of: ${roles.join(', ')}`);
  process.exit(2);
}
if (values.role === 'patient' && !values.patient) {
  console.error('--role patient needs --patient <Patient id>');
  process.exit(2);
}
const key = await loadOrCreateDevKey(devKeyFile(process.env.DATA_DIR ?? './.data'));
const scope = values.scope ?? defaultScopes[values.role];
const token = await new SignJWT({
  role: values.role,
  scope,
  ...(values.patient ? { patient: values.patient } : {}),
  ...(values.clues ? { clues: values.clues } : {}),
  ...(values.name ? { name: values.name } : {}),
  ...(values['fhir-user'] ? { fhirUser: values['fhir-user'] } : {}),
})
  .setProtectedHeader({ alg: devAlgorithm, kid: key.kid, typ: 'JWT' })
  .setIssuer(devIssuer)
  .setAudience(process.env.AUTH_AUDIENCE ?? 'ecu-fhir')
  .setSubject(values.sub ?? `${values.role}-dev`)
  .setIssuedAt()
  .setExpirationTime(`${Number(values.hours)}h`)
  .sign(await importJWK(key.privateJwk, devAlgorithm));
console.error(`role ${values.role}, scope "${scope}", valid ${values.hours} h, issuer ${devIssuer}`);
console.log(token);
