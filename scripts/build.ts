/**
 * `npm run build`: compiles to a fresh folder beside dist/ and swaps it in
 * with renames, so that a build (a second `npm start`'s prestart, say) never
 * leaves a running server without the files it reads.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const fresh = path.join(root, `dist.building-${process.pid}`);
const old = path.join(root, `dist.old-${process.pid}`);

fs.rmSync(fresh, { recursive: true, force: true });
try {
  execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', fresh], { cwd: root, stdio: 'inherit' });
  for (const item of ['openapi.yaml', 'fhir-profiles', 'examples']) {
    fs.cpSync(path.join(root, item), path.join(fresh, item), { recursive: true });
  }
} catch (err) {
  fs.rmSync(fresh, { recursive: true, force: true });
  console.error(`build failed: ${(err as Error).message.split('\n')[0]}`);
  process.exit(1);
}
// Two builds at once (tests, two terminals): whoever renames last wins; a rename onto a dist/ that
// the other build just put in place fails with ENOTEMPTY, so move that one aside too and retry.
for (let attempt = 0; ; attempt++) {
  try {
    if (fs.existsSync(dist)) fs.renameSync(dist, `${old}-${attempt}`);
    fs.renameSync(fresh, dist);
    break;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (attempt >= 5 || (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT')) throw err;
  }
}
for (let attempt = 0; attempt <= 5; attempt++) fs.rmSync(`${old}-${attempt}`, { recursive: true, force: true });
