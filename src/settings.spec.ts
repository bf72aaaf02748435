import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from './settings.js';

describe('server settings', () => {
  it('take their documented defaults when the environment says nothing', () => {
    const settings = loadSettings({});
    expect(settings).toMatchObject({
      storageConfig: resolve('config/storage.yaml'),
      databaseUrl: 'sqlite:./data/boards.sqlite',
      port: 3000,
      devSecret: true,
      healthTimeoutMs: 3000,
      shutdownGraceMs: 0,
      uploadRateLimit: 600,
      uploadRateTtlSeconds: 60,
    });
  });

  it('read a variable set to an empty string as unset (PORT= does not mean port 0)', () => {
    const blank = Object.fromEntries(
      ['PORT', 'STORAGE_CONFIG', 'DATABASE_URL', 'HEALTH_TIMEOUT_MS', 'UPLOAD_RATE_LIMIT', 'UPLOAD_RATE_TTL', 'BOARDS_JWT_SECRET', 'PUBLIC_URL'].map((name) => [name, ' ']),
    );
    const { jwtSecret: _random, ...defaults } = loadSettings({});
    expect(loadSettings(blank)).toMatchObject({ ...defaults, devSecret: true });
  });

  it('take what is set', () => {
    const settings = loadSettings({ PORT: '8080', DATABASE_URL: 'postgres://db/boards', HEALTH_TIMEOUT_MS: '500', UPLOAD_RATE_LIMIT: '0', BOARDS_JWT_SECRET: 's' });
    expect(settings).toMatchObject({ port: 8080, databaseUrl: 'postgres://db/boards', healthTimeoutMs: 500, uploadRateLimit: 0, jwtSecret: 's', devSecret: false });
  });
});
