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
  /** LOG_FORMAT: `text` (default) or `json` (one JSON object per line). */
  logFormat: 'text' | 'json';
  /** LOG_LEVEL: the least severe level printed: `verbose`, `debug`, `log` (default), `warn`, `error`, `fatal`. */
  logLevel: LogLevel;
  /** HEALTH_TIMEOUT_MS: longest a readiness check (provider ping, database query) may take. Default 3000. */
  healthTimeoutMs: number;
  /** SHUTDOWN_GRACE_MS: on SIGTERM, readiness answers 503 this long before the server closes. Default 0. */
  shutdownGraceMs: number;
  /** METRICS_STORED_REFRESH_SECONDS: age after which a scrape recomputes the stored-bytes gauges. Default 60. */
  storedBytesRefreshSeconds: number;
  /** UPLOAD_RATE_LIMIT: uploads (POST and PUT requests) one client address may make per window; 0 turns the limit off. Default 600. */
  uploadRateLimit: number;
  /** UPLOAD_RATE_TTL: the rate limit's window, in seconds. Default 60. */
  uploadRateTtlSeconds: number;
  /** TRUST_PROXY: Express `trust proxy` (`true`, a hop count, or addresses/subnets), so client addresses come from X-Forwarded-For. Default: off. */
  trustProxy?: boolean | number | string;
}

export type LogLevel = 'verbose' | 'debug' | 'log' | 'warn' | 'error' | 'fatal';

/** Most verbose first: a level prints itself and everything after it. */
export const LOG_LEVELS: readonly LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

/** A whole number of at least 0; unset, blank or anything else gives `fallback`. */
function wholeNumber(value: string | undefined, fallback: number): number {
  if (!value?.trim()) return fallback;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : fallback;
}

/** TRUST_PROXY as Express takes it: `true`/`false`, a number of hops, or a list of addresses and subnets. */
function trustProxySetting(value: string | undefined): boolean | number | string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  return /^\d+$/.test(text) ? Number(text) : text;
}

export function loadSettings(env: Record<string, string | undefined> = process.env): ServerSettings {
  // A variable set to an empty string (`PORT=` in a manifest) means its default, as when unset.
  const given = (name: string) => env[name]?.trim() || undefined;
  const secret = given('BOARDS_JWT_SECRET') && env.BOARDS_JWT_SECRET;
  const port = Number(given('PORT') ?? 3000);
  return {
    storageConfig: resolve(given('STORAGE_CONFIG') ?? 'config/storage.yaml'),
    databaseUrl: given('DATABASE_URL') ?? 'sqlite:./data/boards.sqlite',
    port: Number.isInteger(port) && port >= 0 ? port : 3000,
    jwtSecret: secret || randomBytes(32).toString('base64url'),
    devSecret: !secret,
    publicUrl: given('PUBLIC_URL'),
    corsOrigins: (env.CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean),
    logFormat: env.LOG_FORMAT?.trim().toLowerCase() === 'json' ? 'json' : 'text',
    logLevel: LOG_LEVELS.find((level) => level === env.LOG_LEVEL?.trim().toLowerCase()) ?? 'log',
    healthTimeoutMs: wholeNumber(env.HEALTH_TIMEOUT_MS, 3000),
    shutdownGraceMs: wholeNumber(env.SHUTDOWN_GRACE_MS, 0),
    storedBytesRefreshSeconds: wholeNumber(env.METRICS_STORED_REFRESH_SECONDS, 60),
    uploadRateLimit: wholeNumber(env.UPLOAD_RATE_LIMIT, 600),
    uploadRateTtlSeconds: Math.max(1, wholeNumber(env.UPLOAD_RATE_TTL, 60)),
    trustProxy: trustProxySetting(env.TRUST_PROXY),
  };
}
