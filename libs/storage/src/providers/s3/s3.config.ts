import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsNotEmpty, IsOptional, IsString, IsUrl, registerDecorator, ValidateIf } from 'class-validator';

export const S3_CHECKSUM_MODES = ['when_supported', 'when_required'] as const;
export type S3ChecksumMode = (typeof S3_CHECKSUM_MODES)[number];

export const S3_SSE_MODES = ['AES256', 'aws:kms'] as const;
export type S3SseMode = (typeof S3_SSE_MODES)[number];

/** `${VAR:-}` in YAML yields an empty string: treat it as "not set" for optional keys. */
const isSet = (value: unknown) => value !== undefined && value !== null && value !== '';

/** YAML interpolation yields strings: accept `"true"` / `"false"` for booleans. */
const booleanish = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value === '' ? undefined : value);

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
}
