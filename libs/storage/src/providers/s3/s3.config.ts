import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, Max, Min, registerDecorator, ValidateIf } from 'class-validator';
import { booleanish, integerish } from '../../config/coerce.js';
import { IsSize, SizeBetween } from '../../config/size.js';

export const S3_CHECKSUM_MODES = ['when_supported', 'when_required'] as const;
export type S3ChecksumMode = (typeof S3_CHECKSUM_MODES)[number];

export const S3_SSE_MODES = ['AES256', 'aws:kms'] as const;
export type S3SseMode = (typeof S3_SSE_MODES)[number];

/** S3's limits on a multipart upload's parts (the last part may be smaller). */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
export const S3_MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const S3_MAX_PARTS = 10_000;

/** `${VAR:-}` in YAML yields an empty string: treat it as "not set" for optional keys. */
const isSet = (value: unknown) => value !== undefined && value !== null && value !== '';

/** A KMS key only means something with SSE-KMS. */
function NeedsKmsEncryption() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'needsKmsEncryption',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (_value: unknown, args) => (args?.object as S3ProviderConfig).sse === 'aws:kms',
        defaultMessage: () => 'kms_key_id needs sse: aws:kms',
      },
    });
}

/**
 * The `config` block of an `s3` provider (snake_case, as in `storage.yaml`). Credentials are
 * optional: without them the AWS SDK's default chain is used (environment, shared config,
 * web identity, container and instance roles).
 */
export class S3ProviderConfig {
  @IsString() @IsNotEmpty() bucket!: string;

  /** Region of the bucket; S3-compatible stores often accept any value (`us-east-1`, `auto`). */
  @IsString() @IsNotEmpty() region!: string;

  /** With secret_access_key; both or neither. */
  @ValidateIf((config: S3ProviderConfig) => isSet(config.access_key_id) || isSet(config.secret_access_key))
  @IsString()
  @IsNotEmpty({ message: 'access_key_id must be set together with secret_access_key' })
  access_key_id?: string;

  @ValidateIf((config: S3ProviderConfig) => isSet(config.access_key_id) || isSet(config.secret_access_key))
  @IsString()
  @IsNotEmpty({ message: 'secret_access_key must be set together with access_key_id' })
  secret_access_key?: string;

  /** An S3-compatible endpoint (MinIO, R2, B2, Ceph...), e.g. `http://127.0.0.1:9000`. */
  @ValidateIf((config: S3ProviderConfig) => isSet(config.endpoint))
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'endpoint must be an http(s) URL' })
  endpoint?: string;

  /** Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`. Default false. */
  @Transform(booleanish) @IsOptional() @IsBoolean() force_path_style?: boolean;

  /**
   * When the SDK adds CRC checksums to requests and validates them on responses.
   * `when_supported` (the SDK's default) suits AWS; `when_required` suits S3-compatible stores
   * that reject or mis-store the aws-chunked checksum framing. Default: `when_supported`, or
   * `when_required` when `endpoint` is set.
   */
  @ValidateIf((config: S3ProviderConfig) => isSet(config.checksum_mode))
  @IsIn(S3_CHECKSUM_MODES, { message: `checksum_mode must be one of: ${S3_CHECKSUM_MODES.join(', ')}` })
  checksum_mode?: S3ChecksumMode;

  /** Server-side encryption of new objects: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS). */
  @ValidateIf((config: S3ProviderConfig) => isSet(config.sse) || isSet(config.kms_key_id))
  @IsIn(S3_SSE_MODES, { message: `sse must be one of: ${S3_SSE_MODES.join(', ')} (kms_key_id needs sse: aws:kms)` })
  sse?: S3SseMode;

  /** KMS key id or ARN for `sse: aws:kms`; without it S3 uses the account's default KMS key. */
  @ValidateIf((config: S3ProviderConfig) => isSet(config.kms_key_id))
  @IsString()
  @IsNotEmpty()
  @NeedsKmsEncryption()
  kms_key_id?: string;

  /**
   * Size of a multipart upload's parts (5MB to 5GB). Default: 5MB, or larger when a declared
   * length needs it to fit in 10,000 parts. A body of unknown length can be at most 10,000
   * parts long, so this also bounds it: 5MB parts allow about 48 GiB, 64MB about 625 GiB.
   */
  @IsOptional() @IsSize() @SizeBetween(S3_MIN_PART_SIZE, S3_MAX_PART_SIZE) part_size?: number | string;

  /**
   * Parts of one upload sent at the same time (default 4). With `part_size` it sets the memory
   * an upload holds: about 2 x queue_size x part_size (docs/providers.md).
   */
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) @Max(64) queue_size?: number;
}
