import { IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Max, Min } from 'class-validator';
import { Transform } from 'class-transformer';
import { integerish } from '../config/coerce.js';
import { CONFIG_CHECK } from '../config/validate.js';
import { MasterKeyring } from './master-keyring.js';

/** Plaintext bytes per authenticated chunk unless configured otherwise. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const MIN_CHUNK_SIZE = 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

/**
 * `encryption` block of the local provider's `config`:
 *
 * ```yaml
 * encryption:
 *   master_keys:            # id -> 32 random bytes, base64 (or base64url)
 *     k2: ${STORAGE_MASTER_KEY_K2}
 *     k1: ${STORAGE_MASTER_KEY_K1}
 *   active_key_id: k2       # wraps the data keys of new objects
 *   chunk_size: 65536       # plaintext bytes per authenticated chunk (optional)
 * ```
 */
export class LocalEncryptionConfig {
  @IsObject() master_keys!: Record<string, string>;
  /** Required when several master keys are configured; defaults to the only one. */
  @IsOptional() @IsString() @IsNotEmpty() active_key_id?: string;
  @Transform(integerish) @IsOptional() @IsInt() @Min(MIN_CHUNK_SIZE) @Max(MAX_CHUNK_SIZE) chunk_size?: number;

  /** The keys themselves (32 bytes each, a usable active key), checked with the rest of the configuration. */
  static [CONFIG_CHECK](config: LocalEncryptionConfig, path: string): string[] {
    const keys = config.master_keys as unknown;
    // Not a map: @IsObject has said so.
    if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) return [];
    // Left empty (null) means the only key, as for MasterKeyring; another non-string is @IsString's to report.
    const active = typeof config.active_key_id === 'string' ? config.active_key_id : undefined;
    return MasterKeyring.problems(keys as Record<string, unknown>, active, path);
  }
}
