/**
 * `npm run receta:rotate-key [-- --alg ES256]`: puts a new signing key first
 * in the receta key file (RECETA_SIGNING_JWKS_FILE, else the development file
 * in DATA_DIR). The new key signs from the next start; older keys stay in the
 * file and keep verifying the signatures they made (remove only their private
 * part, "d" etc., to retire them for good).
 */
import { parseArgs } from 'node:util';
import { devSigningKeysFile, loadKeySetFile, newSigningKey, writeKeySetFile } from './signing-keys.ts';

const { values } = parseArgs({ options: { alg: { type: 'string', default: 'ES256' } } });
const file = process.env.RECETA_SIGNING_JWKS_FILE || devSigningKeysFile(process.env.DATA_DIR ?? './.data');
const set = await loadKeySetFile(file, !process.env.RECETA_SIGNING_JWKS_FILE);
const key = await newSigningKey(values.alg);
writeKeySetFile(file, { keys: [key, ...set.keys] });
console.log(`${file}: new signing key ${key.kid ?? ''} (${values.alg}); ${set.keys.length} older key(s) kept for verification. Restart the server to sign with it.`);
