import type { ResilienceOptions } from '../resilience/resilience.options.js';

/** A size as bytes, or a string such as `100MB`, `1.5GB`, `512KiB` (1 KB = 1024 bytes). */
export type SizeValue = number | string;

export interface ProviderDefinition {
  /** Provider type: `local`, `memory`, `s3`, `gcs`, `supabase`, or a registered custom type. */
  type: string;
  /** The type's own settings, snake_case as in `storage.yaml`. Validated by the type at boot. */
  config?: Record<string, unknown>;
  /** An optional provider being down makes the service degraded, not unready. */
  optional?: boolean;
  /** Providers that take a write when this one is unavailable, tried in order. */
  fallbacks?: string[];
  /** This provider's own timeouts, breaker and retry settings, over the top-level `resilience`. */
  resilience?: ResilienceOptions;
}

export interface RoutingCondition {
  artifactType?: string;
  /** Matches when the body's declared length is greater than this. Unknown lengths never match. */
  sizeGt?: SizeValue;
  /** Matches a content type exactly, or a family such as `video/*`. */
  contentType?: string;
}

export interface RoutingRule {
  /** No condition matches everything (a default rule). */
  condition?: RoutingCondition;
  provider: string;
}

export interface CleanupOptions {
  /** Disable the sweeper on this instance (a dedicated worker can own it). Default true. */
  enabled?: boolean;
  /** Temporary artifacts expire this long after creation. Default 24. */
  tempFileTtlHours?: number;
  /** Sweep interval when `cron` is not set. Default 1. */
  cleanupIntervalHours?: number;
  /** A cron expression for the sweep (overrides cleanupIntervalHours). */
  cron?: string;
  /** Records handled per batch. Default 1000. */
  maxCleanupBatchSize?: number;
  /** A record still `pending` after this many minutes is an abandoned upload. Default 60. */
  pendingTimeoutMinutes?: number;
  /** Objects with no record are removed once older than this. Default 24. */
  orphanGraceHours?: number;
  /**
   * How replicas agree on one sweeper: `auto` (a PostgreSQL advisory lock on PostgreSQL, a lease
   * row elsewhere), `advisory`, `lease`, `redis` (needs `redisUrl` and the ioredis package) or
   * `none` (every instance sweeps; still safe, only wasteful). Default `auto`.
   */
  lock?: 'auto' | 'advisory' | 'lease' | 'redis' | 'none';
  /** `redis://...` for `lock: redis`. */
  redisUrl?: string;
  /** A lease or Redis lock expires this long after its holder stops renewing it. Default 600. */
  lockTtlSeconds?: number;
}

export interface SignedUrlOptions {
  /** Default lifetime of presigned URLs, in seconds. Default 3600. */
  expiresInSeconds?: number;
}

export interface RetryOptions {
  /** Attempts for a replayable operation, the first included. Default 3. */
  maxAttempts?: number;
  /** First backoff delay; doubled each attempt, with jitter. Default 100. */
  initialDelayMs?: number;
  /** Longest backoff delay. Default 5000. */
  maxDelayMs?: number;
}

/**
 * Checks of uploaded bytes against what the client declared (YAML `content_validation`). Read by
 * the content inspectors (`CONTENT_VALIDATION_INSPECTORS`); without them registered, no effect.
 */
export interface ContentValidationOptions {
  /** Sniff the first bytes (file-type) and refuse a body that is not what its type says. Default true. */
  sniff?: boolean;
  /** Refuse native executables (ELF, PE, Mach-O, Java class) whatever the declared type, and scripts under non-text types. Default true. */
  blockExecutables?: boolean;
  /** `text/*` bodies must be valid UTF-8. Default true. */
  utf8Text?: boolean;
  /** `application/json` (and `+json`) bodies must be one valid JSON document. Default true. */
  json?: boolean;
  /** Validate the header of safetensors bodies (declared by file name or sniffed). Default true. */
  safetensors?: boolean;
  /** Largest safetensors JSON header accepted (held in memory while checked). Default 100000000 bytes, the format's own bound (at most that). */
  maxSafetensorsHeader?: SizeValue;
  /** Accept pickle-based formats (raw pickles, zip-wrapped PyTorch checkpoints). Default false: loading them runs code. */
  allowPickle?: boolean;
}

/** The options of StorageModule.forRoot, the code form of `storage.yaml`. */
export interface StorageModuleOptions {
  defaultProvider: string;
  providers: Record<string, ProviderDefinition>;
  routingRules?: RoutingRule[];
  /** Global upload limit. Default 100MB. */
  maxFileSize?: SizeValue;
  /** Per artifact type limits, overriding maxFileSize (`video: 2GB`). */
  maxFileSizeByType?: Record<string, SizeValue>;
  /** Allowed content types; `family/*` wildcards allowed. Default: the design's list. */
  allowedContentTypes?: string[];
  cleanup?: CleanupOptions;
  signedUrls?: SignedUrlOptions;
  retry?: RetryOptions;
  /** Verify size and SHA-256 against the record while serving reads. Default false. */
  verifyOnRead?: boolean;
  /** Timeouts, circuit breakers and retry overrides for every provider (see ResilienceOptions). */
  resilience?: ResilienceOptions;
  /** Content validation settings (see ContentValidationOptions). */
  contentValidation?: ContentValidationOptions;
}

export const DEFAULT_ALLOWED_CONTENT_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'video/mp4',
  'video/webm',
  'video/quicktime',
  'audio/mpeg',
  'audio/wav',
  'audio/ogg',
  'text/plain',
  'application/json',
  'text/markdown',
  'application/octet-stream',
];

export const DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024;
