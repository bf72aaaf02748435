import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { Transform } from 'class-transformer';
import { booleanish, integerish } from '../../config/coerce.js';

const HTTP_URL = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/** The chunk size Supabase asks resumable (TUS) clients to use. */
export const SUPABASE_TUS_CHUNK_BYTES = 6 * 1024 * 1024;

/**
 * `providers.<name>.config` of a `supabase` provider. Keys are snake_case as in the design
 * document; `url`, `key` and `bucket` are the contract, the rest are optional extras.
 */
export class SupabaseProviderConfig {
  /** Project URL, e.g. `https://abcd.supabase.co`; requests go to `<url>/storage/v1`. */
  @IsUrl(HTTP_URL, { message: 'url must be the http(s) URL of the Supabase project' })
  url!: string;

  /**
   * API key sent as `apikey` and as the Bearer token. Server-side use needs the service_role
   * (secret) key: with the anon key, row-level security decides what the provider may do.
   */
  @IsString() @IsNotEmpty() key!: string;

  /** Bucket holding the objects (it must exist). */
  @IsString() @IsNotEmpty() bucket!: string;

  /**
   * Whether the bucket is public, which gives objects public URLs. Unset: asked from the API
   * when the provider starts (no public URLs if that fails).
   */
  @Transform(booleanish) @IsOptional() @IsBoolean() public?: boolean;

  /**
   * Storage API base when it is not `<url>/storage/v1`, e.g. a self-hosted Storage server
   * reached directly (`http://storage:5000`).
   */
  @IsOptional() @IsUrl(HTTP_URL, { message: 'storage_url must be an http(s) URL' }) storage_url?: string;

  /**
   * Bodies of known length below this many bytes go in one request; larger bodies and bodies of
   * unknown length use a resumable (TUS) upload. Default 6 MiB, as Supabase recommends.
   */
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) tus_threshold_bytes?: number;

  /** Size of each resumable-upload request; Supabase expects 6 MiB (the default). */
  @Transform(integerish) @IsOptional() @IsInt() @Min(256 * 1024) @Max(64 * 1024 * 1024) tus_chunk_bytes?: number;
}
