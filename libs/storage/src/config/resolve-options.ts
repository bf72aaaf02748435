import { cleanupProblems } from '../cleanup/cleanup-checks.js';
import { ConfigurationError } from '../errors/index.js';
import type { ResilienceOptions } from '../resilience/resilience.options.js';
import { ProviderDefinitionDto, StorageOptionsDto } from './options.dto.js';
import { parseSize } from './size.js';
import {
  DEFAULT_ALLOWED_CONTENT_TYPES,
  DEFAULT_MAX_FILE_SIZE,
  type CleanupOptions,
  type ProviderDefinition,
  type RetryOptions,
  type StorageModuleOptions,
} from './storage-options.js';
import { asWritten, validatePlain, type NameStyle } from './validate.js';

export interface ResolvedRoutingRule {
  artifactType?: string;
  sizeGt?: number;
  contentType?: string;
  provider: string;
}

/** Options after validation, with defaults applied and sizes in bytes. */
export interface ResolvedStorageOptions {
  defaultProvider: string;
  providers: Record<string, ProviderDefinition>;
  routingRules: ResolvedRoutingRule[];
  maxFileSize: number;
  maxFileSizeByType: Record<string, number>;
  allowedContentTypes: string[];
  cleanup: Required<Omit<CleanupOptions, 'cron' | 'redisUrl'>> & { cron?: string; redisUrl?: string };
  signedUrls: { expiresInSeconds: number };
  retry: Required<RetryOptions>;
  verifyOnRead: boolean;
  /** Validated `resilience` block; each provider's effective settings come from StorageResilience. */
  resilience: ResilienceOptions;
  contentValidation: ResolvedContentValidation;
}

export interface ResolvedContentValidation {
  sniff: boolean;
  blockExecutables: boolean;
  utf8Text: boolean;
  json: boolean;
  safetensors: boolean;
  /** Bytes. */
  maxSafetensorsHeader: number;
  allowPickle: boolean;
}

/** The safetensors format's own bound on its header: 100,000,000 bytes (decimal, about 95.4 MiB). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

const PROVIDER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Validates module options (everything but each provider's own `config` block, which its type
 * validates) and returns them with defaults. Every problem is reported at once, with its path,
 * including those the cleanup sweeper would only meet when it starts (`cleanup.cron`).
 */
export function resolveStorageOptions(
  options: StorageModuleOptions,
  style: NameStyle = asWritten,
  source = 'storage options',
): ResolvedStorageOptions {
  const { value, problems } = validatePlain(StorageOptionsDto, options, '', style);
  const providers: Record<string, ProviderDefinition> = {};
  if (value && typeof value.providers === 'object' && value.providers !== null) {
    for (const [name, definition] of Object.entries(value.providers)) {
      const path = `providers.${name}`;
      if (!PROVIDER_NAME.test(name)) {
        problems.push(`${path}: a provider name must start with a letter and use letters, digits, "_" or "-"`);
      }
      const checked = validatePlain(ProviderDefinitionDto, definition, path, style);
      problems.push(...checked.problems);
      providers[name] = { ...(definition as ProviderDefinition), config: (definition as ProviderDefinition)?.config ?? {} };
    }
    if (Object.keys(providers).length === 0) problems.push(`${style('providers')}: must configure at least one provider`);
  }
  const known = (name: string) => Object.hasOwn(providers, name);
  if (typeof value?.defaultProvider === 'string' && !known(value.defaultProvider)) {
    problems.push(`${style('defaultProvider')}: "${value.defaultProvider}" is not a configured provider`);
  }
  value?.routingRules?.forEach?.((rule, index) => {
    if (typeof rule?.provider === 'string' && !known(rule.provider)) {
      problems.push(`${style('routingRules')}[${index}].provider: "${rule.provider}" is not a configured provider`);
    }
  });
  for (const [name, definition] of Object.entries(providers)) {
    definition.fallbacks?.forEach((fallback, index) => {
      if (!known(fallback) || fallback === name) {
        problems.push(`providers.${name}.fallbacks[${index}]: "${fallback}" is not another configured provider`);
      }
    });
  }
  const maxFileSizeByType: Record<string, number> = {};
  for (const [type, size] of Object.entries(value?.maxFileSizeByType ?? {})) {
    const parsed = parseSize(size);
    if (parsed === undefined) problems.push(`${style('maxFileSizeByType')}.${type}: must be a size such as "2GB"`);
    else maxFileSizeByType[type] = parsed;
  }
  const headerLimit = parseSize(value?.contentValidation?.maxSafetensorsHeader);
  if (headerLimit !== undefined && (headerLimit < 1024 || headerLimit > SAFETENSORS_MAX_HEADER)) {
    problems.push(`${style('contentValidation')}.${style('maxSafetensorsHeader')}: must be between 1KB and 100000000 bytes (the format's own bound)`);
  }
  // What the sweeper would only find when it starts.
  if (value?.cleanup && typeof value.cleanup === 'object') problems.push(...cleanupProblems(value.cleanup));
  if (problems.length) throw new ConfigurationError(`Invalid ${source}:`, problems);

  const cleanup = value.cleanup ?? {};
  const retry = value.retry ?? {};
  return {
    defaultProvider: value.defaultProvider,
    providers,
    routingRules: (value.routingRules ?? []).map((rule) => ({
      artifactType: rule.condition?.artifactType,
      sizeGt: parseSize(rule.condition?.sizeGt),
      contentType: rule.condition?.contentType?.toLowerCase(),
      provider: rule.provider,
    })),
    maxFileSize: parseSize(value.maxFileSize) ?? DEFAULT_MAX_FILE_SIZE,
    maxFileSizeByType,
    allowedContentTypes: (value.allowedContentTypes ?? [...DEFAULT_ALLOWED_CONTENT_TYPES]).map((t) => t.toLowerCase()),
    cleanup: {
      enabled: cleanup.enabled ?? true,
      tempFileTtlHours: cleanup.tempFileTtlHours ?? 24,
      cleanupIntervalHours: cleanup.cleanupIntervalHours ?? 1,
      cron: cleanup.cron,
      maxCleanupBatchSize: cleanup.maxCleanupBatchSize ?? 1000,
      pendingTimeoutMinutes: cleanup.pendingTimeoutMinutes ?? 60,
      orphanGraceHours: cleanup.orphanGraceHours ?? 24,
      lock: cleanup.lock ?? 'auto',
      redisUrl: cleanup.redisUrl || undefined,
      lockTtlSeconds: cleanup.lockTtlSeconds ?? 600,
    },
    signedUrls: { expiresInSeconds: value.signedUrls?.expiresInSeconds ?? 3600 },
    retry: {
      maxAttempts: retry.maxAttempts ?? 3,
      initialDelayMs: retry.initialDelayMs ?? 100,
      maxDelayMs: retry.maxDelayMs ?? 5000,
    },
    verifyOnRead: value.verifyOnRead ?? false,
    resilience: value.resilience ?? {},
    contentValidation: {
      sniff: value.contentValidation?.sniff ?? true,
      blockExecutables: value.contentValidation?.blockExecutables ?? true,
      utf8Text: value.contentValidation?.utf8Text ?? true,
      json: value.contentValidation?.json ?? true,
      safetensors: value.contentValidation?.safetensors ?? true,
      maxSafetensorsHeader: parseSize(value.contentValidation?.maxSafetensorsHeader) ?? SAFETENSORS_MAX_HEADER,
      allowPickle: value.contentValidation?.allowPickle ?? false,
    },
  };
}
