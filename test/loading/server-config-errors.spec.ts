import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIVE_PROBLEMS, fiveProblemsYaml } from '../support/config-problems.js';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The server, built for this test into its own folder (dist/ stays as it is). */
let main = '';

/** A line of a stack trace, as Node prints it. */
const STACK_LINE = /^ {4}at /m;

/** Starts the built server on `config` and returns its exit code and everything it printed. */
async function start(dir: string, config: string): Promise<{ code: number; output: string }> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, config);
  const env = { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', STORAGE_CONFIG: file, DATABASE_URL: `sqlite:${dir}/x.sqlite`, PORT: '0' };
  try {
    const { stdout, stderr } = await run(process.execPath, [main], { cwd: dir, env, timeout: 60_000 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof code !== 'number') throw error;
    return { code, output: `${stdout}${stderr}` };
  }
}

describe('the built server refusing its storage configuration', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let build = '';
  beforeAll(async () => {
    dir = await tempDir('boards-server-config-');
    // The server as deployed: compiled by `nest build` (which rewrites the path aliases), started
    // with node. It builds into a folder of its own inside node_modules, from where the built
    // files resolve the repository's packages, so a dist/ other tests or a developer use is untouched.
    await mkdir(join(ROOT, 'node_modules/.cache'), { recursive: true });
    build = await mkdtemp(join(ROOT, 'node_modules/.cache/boards-server-build-'));
    const tsconfig = join(build, 'tsconfig.json');
    await writeFile(tsconfig, JSON.stringify({ extends: join(ROOT, 'tsconfig.build.json'), compilerOptions: { outDir: join(build, 'out'), tsBuildInfoFile: join(build, 'tsbuildinfo') } }));
    await run(process.execPath, [join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js'), 'build', '-p', relative(ROOT, tsconfig)], { cwd: ROOT, timeout: 240_000 });
    main = join(build, 'out/src/main.js');
  }, 300_000);
  afterAll(async () => {
    await dir?.remove();
    if (build) await rm(build, { recursive: true, force: true });
  });

  it('names every problem of the file in one message, without a stack trace', async () => {
    const { code, output } = await start(dir.path, fiveProblemsYaml(`${dir.path}/files`));
    expect(code).toBe(1);
    expect(output).toContain('Cannot start: Invalid ');
    for (const problem of FIVE_PROBLEMS) expect(output).toContain(`  - ${problem}`);
    expect(output.match(/Cannot start:/g)).toHaveLength(1);
    expect(output).not.toMatch(STACK_LINE);
  }, 90_000);

  it('reports a configuration problem met while Nest builds the app the same way', async () => {
    // Valid as written; the provider fails when it starts (its folder would be under a file).
    await writeFile(join(dir.path, 'a-file'), '');
    const { code, output } = await start(
      dir.path,
      `storage:\n  default_provider: local\n  providers:\n    local: { type: local, config: { base_path: ${dir.path}/a-file/files } }\n`,
    );
    expect(code).toBe(1);
    expect(output).toContain('Cannot start: Provider "local" (local) failed to start: ENOTDIR');
    expect(output).not.toContain('ExceptionHandler');
    expect(output).not.toMatch(STACK_LINE);
  }, 90_000);
});
