/**
 * `npm run receta:rotate-key [-- --alg ES256]`: puts a new signing key first
 * in the receta key file (RECETA_SIGNING_JWKS_FILE, else the development file
 * in DATA_DIR). The new key signs from the next start; older keys stay in the
 * file and keep verifying the signatures they made (remove only their private
 * part, "d" etc., to retire them for good).
 */
import { parseCli, usageError } from '../cli/parse-cli.ts';
import { devSigningKeysFile, loadKeySetFile, newSigningKey, writeKeySetFile } from './signing-keys.ts';

const values = parseCli({
  command: 'receta:rotate-key',
  usage: `
Usage: npm run receta:rotate-key [-- --alg ES256]
       (in the Docker image: node dist/src/receta/rotate-key-cli.js [--alg ES256])

Puts a new receta signing key first in RECETA_SIGNING_JWKS_FILE (else the development
key file in DATA_DIR); older keys stay and keep verifying. Restart the server to sign
with the new key.

Options:
  --alg <alg>   JWS algorithm of the new key (default ES256)
  -h, --help    this text
`,
  options: { alg: { type: 'string', default: 'ES256' } },
});
const file = process.env.RECETA_SIGNING_JWKS_FILE || devSigningKeysFile(process.env.DATA_DIR ?? './.data');
const key = await newSigningKey(values.alg).catch(() => usageError('receta:rotate-key', `--alg ${values.alg} is not a JWS signing algorithm jose can generate keys for (e.g. ES256, ES384, PS256, EdDSA)`));
let set;
try {
  set = await loadKeySetFile(file, !process.env.RECETA_SIGNING_JWKS_FILE);
} catch (err) {
  console.error(`receta:rotate-key failed: ${(err as Error).message}`);
  process.exit(1);
}
writeKeySetFile(file, { keys: [key, ...set.keys] });
console.log(`${file}: new signing key ${key.kid ?? ''} (${values.alg}); ${set.keys.length} older key(s) kept for verification. Restart the server to sign with it.`);
