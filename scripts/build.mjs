// Builds every workspace with swc (fast; keeps decorator metadata for NestJS and TypeORM).
// Type checking is `npm run typecheck` (tsc --noEmit over the whole workspace).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = JSON.parse(readFileSync('package.json', 'utf8'));
const dirs = [];
for (const pattern of root.workspaces) {
  if (pattern.endsWith('/*')) {
    const base = pattern.slice(0, -2);
    for (const d of execFileSync('ls', [base], { encoding: 'utf8' }).split('\n').filter(Boolean))
      dirs.push(`${base}/${d}`);
  } else dirs.push(pattern);
}
for (const dir of dirs) {
  if (!existsSync(`${dir}/src`)) continue;
  execFileSync(
    'npx',
    ['swc', 'src', '-d', 'dist', '--strip-leading-paths', '--config-file', `${process.cwd()}/.swcrc`, '-q'],
    {
      cwd: dir,
      stdio: 'inherit',
    },
  );
}
