// Prints the plain closing line CI reads: "tests: N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`tests: 0 passed, 1 failed (no report: ${error.message})`);
  process.exit(1);
}
const files = report.testResults ?? [];
// A file that failed outside its tests (an import, a beforeAll that could not start a server) has
// no failed test of its own, and Vitest reports its tests as skipped. Each such file counts as one
// failure, and its tests are not counted as skips: they did not run.
const broken = files.filter((result) => result.status === 'failed' && !(result.assertionResults ?? []).some((test) => test.status === 'failed'));
const notRun = broken.reduce((count, result) => count + (result.assertionResults ?? []).filter((test) => test.status !== 'passed').length, 0);
for (const result of broken) {
  console.log(`failed outside its tests: ${result.name}${result.message ? `: ${String(result.message).split('\n')[0]}` : ''}`);
}
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + broken.length;
const skipped = Math.max(0, (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0) - notRun);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
