/** Runs a virtualenv script of test/support (moto-venv.sh, localstack-venv.sh), which makes the venv when needed, and returns the path it prints last. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SUPPORT_DIR = path.dirname(fileURLToPath(import.meta.url));

export function venvTool(script: string): string {
  const result = spawnSync('bash', [path.join(SUPPORT_DIR, script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`test/support/${script} exited ${result.status}`);
  return result.stdout.trim().split('\n').at(-1)!;
}
