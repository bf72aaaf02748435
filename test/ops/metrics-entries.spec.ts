import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../../libs/storage/src');

/** Every package a module loads when imported: static imports and re-exports, followed through relative files. */
function staticPackages(entry: string): { packages: Set<string>; files: Set<string> } {
  const packages = new Set<string>();
  const files = new Set<string>();
  const pending = [entry];
  while (pending.length) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    for (const statement of source.statements) {
      const isImport = ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly;
      const isExport = ts.isExportDeclaration(statement) && !statement.isTypeOnly;
      if (!isImport && !isExport) continue;
      const specifier = (statement.moduleSpecifier as ts.StringLiteral | undefined)?.text;
      if (!specifier) continue;
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
        pending.push(existsSync(target) ? target : resolve(dirname(file), specifier, 'index.ts'));
      } else {
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
      }
    }
  }
  return { packages, files };
}

describe('optional entries', () => {
  it('the main entry loads neither Terminus nor prom-client', () => {
    const { packages, files } = staticPackages(`${LIB}/index.ts`);
    expect(files.size).toBeGreaterThan(20); // the walk really followed the library
    expect(packages).toContain('@nestjs/common');
    expect(packages).not.toContain('@nestjs/terminus');
    expect(packages).not.toContain('prom-client');
    expect([...files].some((file) => file.includes('/health/') || file.includes('/metrics/'))).toBe(false);
  });

  it('@app/storage/health loads Terminus and not prom-client; @app/storage/metrics the reverse', () => {
    const health = staticPackages(`${LIB}/health/index.ts`).packages;
    expect(health).toContain('@nestjs/terminus');
    expect(health).not.toContain('prom-client');
    const metrics = staticPackages(`${LIB}/metrics/index.ts`).packages;
    expect(metrics).toContain('prom-client');
    expect(metrics).not.toContain('@nestjs/terminus');
  });
});
