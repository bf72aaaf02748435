import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIB = join(ROOT, 'libs/storage');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface LibraryManifest {
  name: string;
  exports: Record<string, string | { types?: string; import?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Every file under `dir` whose name ends with `suffix`, as paths relative to `dir`. */
async function filesUnder(dir: string, suffix: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith(suffix)).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or null for relative and built-in ones. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The library as another Nest app gets it: built with its own tsconfig, packed by npm, unpacked into
 * an app's node_modules, compiled against by that app and run. The app lives inside this repository's
 * node_modules folder so that the peers it resolves (Nest, TypeORM, better-sqlite3) are the
 * repository's installed ones; nothing is fetched.
 */
describe('the library as a package (@boards/storage)', () => {
  let work: string;
  let packed: string;
  let manifest: LibraryManifest;
  let tarballFiles: string[];

  beforeAll(async () => {
    await mkdir(join(ROOT, 'node_modules/.cache'), { recursive: true });
    work = await mkdtemp(join(ROOT, 'node_modules/.cache/boards-package-'));
    packed = join(work, 'package');
    await mkdir(packed);
    await run(process.execPath, [TSC, '-p', join(LIB, 'tsconfig.lib.json'), '--outDir', join(packed, 'dist')], { cwd: ROOT, timeout: 120_000 });
    await cp(join(LIB, 'package.json'), join(packed, 'package.json'));
    await cp(join(LIB, 'README.md'), join(packed, 'README.md'));
    manifest = JSON.parse(await readFile(join(packed, 'package.json'), 'utf8')) as LibraryManifest;
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: packed, timeout: 60_000, env: { ...process.env, npm_config_loglevel: 'error' } });
    const [result] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarballFiles = result.files.map((file) => file.path);
    const installed = join(work, 'app/node_modules/@boards/storage');
    await mkdir(installed, { recursive: true });
    await run('tar', ['-xzf', join(work, result.filename), '-C', installed, '--strip-components=1'], { timeout: 30_000 });
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('holds the built code and type declarations of every entry point, and no sources or tests', () => {
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') {
        expect(tarballFiles, entry).toContain(target.replace(/^\.\//, ''));
        continue;
      }
      expect(tarballFiles, `${entry} import`).toContain(target.import!.replace(/^\.\//, ''));
      expect(tarballFiles, `${entry} types`).toContain(target.types!.replace(/^\.\//, ''));
    }
    expect(tarballFiles).toContain('README.md');
    expect(tarballFiles.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(tarballFiles.filter((file) => /\.spec\.|\/test\//.test(file))).toEqual([]);
  });

  it('imports only what its manifest declares, with every cloud SDK an optional peer', async () => {
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const dist = join(work, 'app/node_modules/@boards/storage/dist');
    const undeclared: string[] = [];
    const imported = new Set<string>();
    for (const file of await filesUnder(dist, '.js')) {
      const source = await readFile(join(dist, file), 'utf8');
      for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)) {
        const name = packageOf(match[1]);
        if (!name) continue;
        imported.add(name);
        if (!declared.has(name)) undeclared.push(`${file}: ${match[1]}`);
      }
      // The code of the monorepo's path alias must not leak into the package.
      expect(source, file).not.toMatch(/['"]@app\/storage/);
    }
    expect(undeclared).toEqual([]);
    expect(imported).toContain('@nestjs/common');
    for (const sdk of ['@aws-sdk/client-s3', '@google-cloud/storage', '@supabase/supabase-js']) {
      expect(manifest.peerDependencies?.[sdk], sdk).toBeDefined();
      expect(manifest.peerDependenciesMeta?.[sdk]?.optional, sdk).toBe(true);
    }
  });

  it('compiles into a host app and stores, reads a range and lists from there', async () => {
    const app = join(work, 'app');
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type: 'module' }));
    // Nest's own starter settings (decorators, metadata, skipLibCheck), with strict checking and NodeNext resolution.
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          strict: true,
          skipLibCheck: true,
          rootDir: 'src',
          outDir: 'dist',
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        include: ['src'],
      }),
    );
    await mkdir(join(app, 'src'));
    await writeFile(
      join(app, 'src/main.ts'),
      `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { STORAGE_ENTITIES, STORAGE_MIGRATIONS, StorageModule, StorageService, parseStorageConfig, type StoredArtifact } from '@boards/storage';
import { StorageHealthModule } from '@boards/storage/health';

const options = parseStorageConfig(\`
default_provider: disk
providers:
  disk:
    type: local
    config:
      base_path: \${process.argv[2]}
allowed_content_types: [text/plain]
\`);

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', entities: [...STORAGE_ENTITIES], migrations: [...STORAGE_MIGRATIONS], migrationsRun: true }),
    StorageModule.forRoot(options),
    StorageHealthModule.forRoot(),
  ],
})
class HostModule {}

const app = await NestFactory.createApplicationContext(HostModule, { logger: ['error'] });
const storage = app.get(StorageService);
const stored: StoredArtifact = await storage.storeArtifact({
  tenant: 'acme',
  boardId: 'b1',
  artifactType: 'text',
  contentType: 'text/plain',
  body: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
});
const opened = await storage.openArtifact(stored.id, { range: { start: 6, end: 10 } });
const page = await storage.listArtifacts({ tenant: 'acme', boardId: 'b1' });
console.log(JSON.stringify({ size: stored.size, sha256: stored.sha256, status: stored.status, range: await text(opened.body), listed: page.items.map((item) => item.id === stored.id) }));
await app.close();
`,
    );
    await run(process.execPath, [TSC, '-p', app], { cwd: app, timeout: 120_000 }).catch((error: { stdout?: string }) => {
      throw new Error(`the host app does not compile against the package:\n${error.stdout ?? String(error)}`);
    });
    const files = join(work, 'files');
    const { stdout } = await run(process.execPath, [join(app, 'dist/main.js'), files], { cwd: app, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      size: 11,
      sha256: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9',
      status: 'ready',
      range: 'world',
      listed: [true],
    });
    // The host app imports the package by name (resolved to the unpacked files), not the repository's sources.
    const compiled = await readFile(join(app, 'dist/main.js'), 'utf8');
    expect(compiled).toContain("from '@boards/storage'");
    expect(compiled).not.toMatch(/libs\/storage|@app\/storage/);
  }, 180_000);
});
