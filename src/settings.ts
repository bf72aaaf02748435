import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

/** The reference server's settings, from its environment variables (a contract: see README). */
export interface ServerSettings {
  /** STORAGE_CONFIG: path of the storage YAML. Default `config/storage.yaml`. */
  storageConfig: string;
  /** DATABASE_URL: `postgres://...` or `sqlite:<file>`. Default `sqlite:./data/boards.sqlite`. */
  databaseUrl: string;
  /** PORT. Default 3000. */
  port: number;
  /** BOARDS_JWT_SECRET: HS256 secret of bearer tokens. When unset, a random one (dev). */
  jwtSecret: string;
  /** True when the JWT secret was generated (a dev token is printed at start). */
  devSecret: boolean;
  /** PUBLIC_URL: absolute base of URLs handed to clients. Default: taken from each request. */
  publicUrl?: string;
  /** CORS_ORIGINS: comma-separated origins allowed to call the API from browsers. */
  corsOrigins: string[];
}

export function loadSettings(env: Record<string, string | undefined> = process.env): ServerSettings {
  const secret = env.BOARDS_JWT_SECRET;
  const port = Number(env.PORT ?? 3000);
  return {
    storageConfig: resolve(env.STORAGE_CONFIG ?? 'config/storage.yaml'),
    databaseUrl: env.DATABASE_URL ?? 'sqlite:./data/boards.sqlite',
    port: Number.isInteger(port) && port >= 0 ? port : 3000,
    jwtSecret: secret || randomBytes(32).toString('base64url'),
    devSecret: !secret,
    publicUrl: env.PUBLIC_URL || undefined,
    corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean),
  };
}
