import type { SerializedError } from 'vitest';
import type { Reporter, TestCase, TestModule, TestSuite, Vitest } from 'vitest/node';

interface ProviderRow {
  passed: number;
  failed: number;
  skipped: number;
  /** Cases that did not run (filtered out, or an interrupted run). */
  other: number;
  skips: { name: string; reason: string }[];
  failures: string[];
  setupErrors: string[];
}

const emptyRow = (): ProviderRow => ({ passed: 0, failed: 0, skipped: 0, other: 0, skips: [], failures: [], setupErrors: [] });

/** The case name without the suite's `conformance: <provider> >` prefix. */
function caseName(test: TestCase): string {
  const parts: string[] = [];
  for (let parent = test.parent; parent.type === 'suite'; parent = parent.parent) {
    if (parent.meta().conformance) break;
    parts.unshift(parent.name);
  }
  return [...parts, test.name].join(' > ');
}

function pad(value: string | number, width: number, right = false): string {
  const text = String(value);
  return right ? text.padStart(width) : text.padEnd(width);
}

/**
 * Prints, at the end of a run, a table of the shared conformance suite's results per provider
 * (passed / failed / skipped) and every skip with its reason. Cases are recognised by the
 * `conformance` meta that `runConformanceSuite` attaches; runs without any print nothing.
 */
export default class ConformanceTableReporter implements Reporter {
  private vitest?: Vitest;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const rows = new Map<string, ProviderRow>();
    const rowOf = (provider: string) => rows.get(provider) ?? rows.set(provider, emptyRow()).get(provider)!;
    const visitSuite = (suite: TestSuite) => {
      const provider = suite.meta().conformance?.provider;
      if (provider && suite.state() === 'failed') {
        for (const error of suite.errors()) rowOf(provider).setupErrors.push(error.message);
      }
    };
    for (const module of testModules) {
      for (const suite of module.children.allSuites()) visitSuite(suite);
      // A module that failed outside any case (import error, crashed worker) is reported with its providers.
      const providers = new Set([...module.children.allTests()].map((test) => test.meta().conformance?.provider).filter(Boolean));
      for (const provider of providers) for (const error of module.errors()) rowOf(provider!).setupErrors.push(error.message);
      for (const test of module.children.allTests()) {
        const provider = test.meta().conformance?.provider;
        if (!provider) continue;
        const row = rowOf(provider);
        const result = test.result();
        if (result.state === 'passed') row.passed++;
        else if (result.state === 'failed') {
          row.failed++;
          row.failures.push(`${caseName(test)}: ${result.errors[0]?.message.split('\n')[0] ?? 'failed'}`);
        } else if (result.state === 'skipped' && result.note) {
          // The suite skips only through ctx.skip(reason); a skip without a note was filtered out (-t, .only).
          row.skipped++;
          row.skips.push({ name: caseName(test), reason: result.note });
        } else row.other++;
      }
    }
    if (rows.size === 0) return;
    this.print(rows, unhandledErrors.length);
  }

  private print(rows: Map<string, ProviderRow>, unhandled: number): void {
    const lines: string[] = [];
    const names = [...rows.keys()].sort();
    const width = Math.max(8, ...names.map((name) => name.length));
    const anyOther = [...rows.values()].some((row) => row.other > 0);
    const header = `${pad('provider', width)} | passed | failed | skipped${anyOther ? ' | not run' : ''}`;
    lines.push('', ' Provider conformance', '', ` ${header}`, ` ${'-'.repeat(header.length)}`);
    for (const name of names) {
      const row = rows.get(name)!;
      lines.push(
        ` ${pad(name, width)} | ${pad(row.passed, 6, true)} | ${pad(row.failed, 6, true)} | ${pad(row.skipped, 7, true)}` +
          (anyOther ? ` | ${pad(row.other, 7, true)}` : ''),
      );
    }
    for (const name of names) {
      const row = rows.get(name)!;
      for (const error of row.setupErrors) lines.push('', ` ${name}: setup failed: ${error}`);
      if (row.failures.length) {
        lines.push('', ` ${name}: failed`);
        for (const failure of row.failures) lines.push(`   x ${failure}`);
      }
      if (row.skips.length) {
        lines.push('', ` ${name}: skipped`);
        for (const skip of row.skips) lines.push(`   - ${skip.name}`, `       ${skip.reason}`);
      }
    }
    if (unhandled) lines.push('', ` ${unhandled} unhandled error(s) outside the cases (shown above) may explain cases that did not run`);
    lines.push('');
    const text = lines.join('\n');
    if (this.vitest) this.vitest.logger.log(text);
    else console.log(text);
  }
}
