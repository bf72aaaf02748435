import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const SUMMARY = fileURLToPath(new URL('../../.ci/summary.mjs', import.meta.url));

/** Runs .ci/summary.mjs on a Vitest JSON report; returns its last line and exit code. */
async function summarize(dir: string, report: object): Promise<{ line: string; code: number }> {
  const file = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(report));
  const result = await promisify(execFile)(process.execPath, [SUMMARY, file]).then(
    ({ stdout }) => ({ stdout, code: 0 }),
    (error: { stdout: string; code: number }) => ({ stdout: error.stdout, code: error.code }),
  );
  return { line: result.stdout.trim().split('\n').at(-1)!, code: result.code };
}

const file = (status: string, tests: string[]) => ({ name: `/p/${status}.spec.ts`, status, message: '', assertionResults: tests.map((s) => ({ status: s })) });

describe('the CI summary line', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => dir?.remove());

  it('counts passed, failed and skipped tests', async () => {
    const report = { numPassedTests: 3, numFailedTests: 1, numPendingTests: 2, numTodoTests: 0, testResults: [file('failed', ['passed', 'passed', 'passed', 'failed', 'skipped', 'skipped'])] };
    expect(await summarize(dir.path, report)).toEqual({ line: 'tests: 3 passed, 1 failed, 2 skipped', code: 1 });
  });

  it('counts a file that failed outside its tests (a beforeAll) as a failure, not as skips', async () => {
    // The shape Vitest 4 writes when a beforeAll throws: the file failed, its tests "skipped".
    const report = { numPassedTests: 3, numFailedTests: 0, numPendingTests: 2, numTodoTests: 0, testResults: [file('passed', ['passed', 'passed', 'passed']), file('failed', ['skipped', 'skipped'])] };
    expect(await summarize(dir.path, report)).toEqual({ line: 'tests: 3 passed, 1 failed, 0 skipped', code: 1 });
  });

  it('passes a clean run', async () => {
    const report = { numPassedTests: 2, numFailedTests: 0, numPendingTests: 1, numTodoTests: 0, testResults: [file('passed', ['passed', 'passed', 'skipped'])] };
    expect(await summarize(dir.path, report)).toEqual({ line: 'tests: 2 passed, 0 failed, 1 skipped', code: 0 });
  });
});
