import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PROVIDER_TYPES } from '@app/storage';
import { tempDir } from '../support/temp-dir.js';

const run = promisify(execFile);
const BOOT = fileURLToPath(new URL('./boot-storage.mjs', import.meta.url));

/** The cloud SDKs, as package names and as folders of node_modules. */
const CLOUD_SDKS = [/^@aws-sdk\//, /^@google-cloud\/storage(\/|$)/, /^@supabase\//];
const CLOUD_SDK_PATHS = [/\/node_modules\/@aws-sdk\//, /\/node_modules\/@google-cloud\/storage\//, /\/node_modules\/@supabase\//];

interface Boot {
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
  /** Every ESM resolution: [specifier, url] (or ['blocked', specifier]). */
  resolved: [string, string][];
  /** Files in the CommonJS require cache at the end. */
  commonjs: string[];
}

/** Boots StorageModule in a fresh `node` process and reports what it loaded. */
async function boot(dir: string, name: string, providers: Record<string, unknown>, block: string[] = []): Promise<Boot> {
  const record = join(dir, `${name}.resolved`);
  const { stdout } = await run(process.execPath, [BOOT], {
    env: { ...process.env, NODE_OPTIONS: '', RECORD_FILE: record, BOOT_PROVIDERS: JSON.stringify(providers), BLOCK_PACKAGES: JSON.stringify(block), TRANSPILE_CACHE: join(dir, 'transpiled') },
    timeout: 150_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the boot process printed no result:\n${stdout.slice(-2000)}`);
  const resolved = (await readFile(record, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t') as [string, string]);
  return { ...(JSON.parse(line.slice('RESULT '.length)) as Omit<Boot, 'resolved'>), resolved };
}

const cloudSpecifiers = (result: Boot) =>
  result.resolved.filter(([specifier, url]) => CLOUD_SDKS.some((sdk) => sdk.test(specifier)) || CLOUD_SDK_PATHS.some((path) => path.test(url)));

describe('provider SDKs load only when their type is configured', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('boards-sdk-loading-');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('an app that configures only local loads no AWS, Google or Supabase SDK', { timeout: 180_000 }, async () => {
    const result = await boot(dir.path, 'local-only', { files: { type: 'local', config: { base_path: join(dir.path, 'root') } } });
    expect(result.ok, result.message).toBe(true);
    // The recorder saw the app's own loads, including the lazily imported local provider...
    expect(result.resolved.some(([specifier]) => specifier === '@nestjs/core')).toBe(true);
    expect(result.resolved.some(([, url]) => url.endsWith('/providers/local/local.provider.ts'))).toBe(true);
    // ...and no cloud SDK, through ESM or CommonJS.
    expect(cloudSpecifiers(result)).toEqual([]);
    expect(result.commonjs.filter((file) => CLOUD_SDK_PATHS.some((path) => path.test(file)))).toEqual([]);
  });

  it('configuring s3 does load the AWS SDK (the recorder would notice)', { timeout: 180_000 }, async () => {
    const result = await boot(dir.path, 's3', {
      media: { type: 's3', config: { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', force_path_style: true } },
    });
    expect(result.ok, result.message).toBe(true);
    expect(result.resolved.some(([specifier]) => specifier === '@aws-sdk/client-s3')).toBe(true);
    expect(result.resolved.some(([specifier]) => /^@google-cloud\/storage|^@supabase\//.test(specifier))).toBe(false);
  });

  it('a configured type whose SDK is not installed fails at boot naming the packages to install', { timeout: 180_000 }, async () => {
    const cloud = Object.entries(BUILT_IN_PROVIDER_TYPES).filter(([, type]) => type.packages.length > 0);
    expect(cloud.map(([name]) => name)).toEqual(expect.arrayContaining(['s3', 'gcs']));
    const bare = (spec: string) => spec.replace(/(?<=.)@[^/]*$/, '');
    const providers = Object.fromEntries(cloud.map(([type]) => [`my-${type}`, { type, config: {} }]));
    const result = await boot(dir.path, 'missing', providers, cloud.flatMap(([, type]) => type.packages.map(bare)));
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ name: 'ConfigurationError', code: 'E_CONFIGURATION' });
    for (const [type, { packages }] of cloud) {
      expect(result.message).toContain(`providers.my-${type}.type: the "${type}" provider needs`);
      for (const spec of packages) expect(result.message).toContain(spec);
    }
    expect(result.message).toContain('npm install');
    expect(result.resolved.some(([kind]) => kind === 'blocked')).toBe(true);
  });
});
