/**
 * `npm run token -- --role clinician --sub dr-lopez [--clues DFIMS000011] [--scope "..."] [--patient id] [--fhir-user Practitioner/id] [--hours 8]`
 * (`--help` for all options).
 * Mints a token signed by the development key, which `npm start` trusts only
 * while no AUTH_ISSUER is configured. The bare token is the last line printed.
 */
import { parseCli, usageError } from '../cli/parse-cli.ts';
import { devIssuer, devKeyFile, loadOrCreateDevKey } from './dev-key.ts';
import { mintDevToken } from './dev-token.ts';
import { isRole, roles } from './roles.ts';

const usage = `
Usage: npm run token -- --role <role> [options]
       (in the Docker image: node dist/src/auth/token-cli.js --role <role> [options])

Mints a development token, signed by the key in DATA_DIR (default ./.data) that the
server trusts while AUTH_ISSUER is unset. Diagnostics go to stderr; the bare token is
the last line on stdout, so: export TOKEN=$(npm run -s token -- --role clinician | tail -1)

Options:
  --role <role>          required: ${roles.join(', ')}
  --sub <id>             the token's subject (default <role>-dev)
  --scope "<scopes>"     SMART scopes, space-separated (default: the role's, e.g. clinician user/*.cruds)
  --patient <id>         the Patient a patient token is limited to (required with --role patient)
  --clues <CLUES>        the unit the user works at (stamped on what it writes), e.g. DFIMS000011
  --name <text>          display name
  --fhir-user <ref>      SMART fhirUser, e.g. Practitioner/medico-1 (a prescriber signing recetas needs it)
  --hours <n>            validity in hours (default 8)
  -h, --help             this text
`;

const values = parseCli({
  command: 'token',
  usage,
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
  usageError('token', values.role === undefined ? `--role is required, one of: ${roles.join(', ')}` : `--role must be one of: ${roles.join(', ')} (got "${values.role}")`);
}
if (values.role === 'patient' && !values.patient) {
  usageError('token', '--role patient needs --patient <Patient id>');
}
const hours = Number(values.hours);
if (!(hours > 0 && hours <= 24 * 366)) {
  usageError('token', `--hours must be a positive number of hours (got "${values.hours}")`);
}
const key = await loadOrCreateDevKey(devKeyFile(process.env.DATA_DIR ?? './.data'));
const { token, scope } = await mintDevToken(key, {
  role: values.role,
  sub: values.sub,
  scope: values.scope,
  patient: values.patient,
  clues: values.clues,
  name: values.name,
  fhirUser: values['fhir-user'],
  hours,
  audience: process.env.AUTH_AUDIENCE,
});
console.error(`role ${values.role}, scope "${scope}", valid ${hours} h, issuer ${devIssuer}`);
console.log(token);
