import {
  IsBoolean,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Min,
  registerDecorator,
  ValidateIf,
  type ValidationArguments,
} from 'class-validator';
import { Transform } from 'class-transformer';
import { booleanish, integerish } from '../../config/coerce.js';

/** The parts of a service-account key the provider uses (the JSON file Google issues). */
export interface ServiceAccountCredentials {
  type?: string;
  project_id?: string;
  client_email: string;
  private_key: string;
  [field: string]: unknown;
}

/** Inline credentials as an object, or the same JSON as a string (e.g. from an env var). */
export function parseCredentials(value: unknown): ServiceAccountCredentials | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const { client_email, private_key } = parsed as Record<string, unknown>;
  if (typeof client_email !== 'string' || !client_email) return undefined;
  if (typeof private_key !== 'string' || !private_key.includes('PRIVATE KEY')) return undefined;
  return parsed as ServiceAccountCredentials;
}

function IsServiceAccountCredentials() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isServiceAccountCredentials',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => parseCredentials(value) !== undefined,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be a service-account key (an object, or its JSON as a string) with client_email and private_key`,
      },
    });
}

function NotWith(other: string) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'notWith',
      target: target.constructor,
      propertyName,
      constraints: [other],
      validator: {
        validate: (value: unknown, args?: ValidationArguments) =>
          value === undefined || (args?.object as Record<string, unknown>)[other] === undefined,
        defaultMessage: (args?: ValidationArguments) => `${args?.property} cannot be combined with ${other}: give one of them`,
      },
    });
}

/** GCS bucket names: 3-222 characters of lower-case letters, digits, `-`, `_` and `.`. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const KMS_KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

/**
 * `providers.<name>.config` of a `gcs` provider. Without `key_filename` or `credentials` the
 * client uses Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity,
 * the metadata server). Presigned URLs need a key that can sign: a service-account key, or ADC
 * with the IAM signBlob permission.
 */
export class GcsProviderConfig {
  @IsString()
  @Matches(BUCKET_NAME, { message: 'bucket must be a Cloud Storage bucket name (3-222 of a-z, 0-9, ".", "-", "_")' })
  bucket!: string;

  /** Defaults to the project of the credentials. */
  @IsOptional() @IsString() @IsNotEmpty() project_id?: string;

  /** Path of a service-account JSON key file. */
  @IsOptional() @IsString() @IsNotEmpty() @NotWith('credentials') key_filename?: string;

  /** An inline service-account key: the JSON object, or the JSON as a string. */
  @ValidateIf((config: GcsProviderConfig) => config.credentials !== undefined)
  @IsServiceAccountCredentials()
  credentials?: ServiceAccountCredentials | string;

  /** Another endpoint (an emulator, Private Service Connect, a regional endpoint). */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { message: 'api_endpoint must be an http(s) URL' })
  api_endpoint?: string;

  /**
   * The SDK sends no credentials to a custom `api_endpoint` (right for an emulator); set this for
   * a real endpoint such as Private Service Connect.
   */
  @Transform(booleanish) @IsOptional() @IsBoolean() use_auth_with_custom_endpoint?: boolean;

  /** Cloud KMS key for new objects: `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  @IsOptional()
  @Matches(KMS_KEY_NAME, { message: 'kms_key_name must look like projects/P/locations/L/keyRings/R/cryptoKeys/K' })
  kms_key_name?: string;

  /**
   * Bodies of known length up to this many bytes go in one request; larger ones and bodies of
   * unknown length use a resumable upload. Default 8 MiB.
   */
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) resumable_threshold?: number;
}
