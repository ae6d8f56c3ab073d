/**
 * Command-line options for the npm-script CLIs (token, migrate, reindex,
 * audit:verify, receta:rotate-key, seed): `--help` prints the usage and exits
 * 0; a wrong option, a missing value or options that npm swallowed (run
 * without `--`) print one line and exit 2. Never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CliSpec<O extends Options> {
  /** The npm script, e.g. `token`: used in messages (`npm run token -- …`). */
  command: string;
  /** Usage text printed by --help (starts with the usage line). */
  usage: string;
  options: O;
}

export function usageError(command: string, message: string): never {
  console.error(`npm run ${command}: ${message} (see \`npm run ${command} -- --help\`)`);
  process.exit(2);
}

export function parseCli<O extends Options>(spec: CliSpec<O>, argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env) {
  const options = { ...spec.options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } };
  // `npm run token --role x` (no `--`): npm keeps `--role` as its own config (npm_config_role) and passes `x` on.
  const swallowed = Object.keys(spec.options).filter((name) => env[`npm_config_${name.replaceAll('-', '_')}`] !== undefined);
  if (swallowed.length > 0 && env.npm_lifecycle_event === spec.command) {
    usageError(spec.command, `npm took --${swallowed[0]} as its own option: put \`--\` before the command's options, as in \`npm run ${spec.command} -- --${swallowed[0]} …\``);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    // node:util's messages are one sentence already ("Unknown option '--rol'"); drop its own hint about `--`.
    usageError(spec.command, (err as Error).message.split('. ')[0].replace(/\.$/, ''));
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(spec.usage.trim());
    process.exit(0);
  }
  return parsed.values;
}
