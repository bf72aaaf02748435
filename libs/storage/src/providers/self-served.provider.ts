import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { IsNotEmpty, IsObject, IsOptional, IsString, MinLength, ValidateIf } from 'class-validator';
import type {
  PresignDownloadOptions,
  PresignedRequest,
  PresignUploadOptions,
  ProviderCapabilities,
  ProviderContext,
} from '../contract/index.js';
import { StorageProvider } from '../contract/index.js';
import { CONFIG_CHECK } from '../config/validate.js';
import { ConfigurationError } from '../errors/index.js';
import { UrlSigner, type SignedClaims } from '../signing/index.js';
import { STORAGE_HTTP_ROUTE } from '../storage.constants.js';

/** What a provider gets from having its URLs served and checked by this process. */
export const SELF_SERVED_CAPABILITIES: Omit<ProviderCapabilities, 'publicUrl'> = {
  rangeRead: true,
  suffixRange: true,
  list: true,
  copy: true,
  userMetadata: true,
  createOnly: true,
  presignDownload: true,
  presignUpload: true,
  presignUploadEnforcesContentType: true,
  presignEnforcesSignature: true,
  presignEnforcesExpiry: true,
  presignUploadEnforcesMaxSize: true,
};

/** Settings shared by providers whose presigned URLs this process serves. */
export class SelfServedConfig {
  /** One signing secret (key id `default`); empty means none. */
  @ValidateIf((config: SelfServedConfig) => config.signing_secret !== undefined && config.signing_secret !== '')
  @IsString()
  @MinLength(16)
  signing_secret?: string;
  /** Several secrets by key id, for rotation; `signing_key_id` names the one that signs. */
  @IsOptional() @IsObject() signing_keys?: Record<string, string>;
  @IsOptional() @IsString() @IsNotEmpty() signing_key_id?: string;
  /** Absolute base of signed URLs, e.g. `https://api.example.com/storage/local`. */
  @IsOptional() @IsString() @IsNotEmpty() signed_url_base?: string;

  /** The signing keys' own rules, checked with the rest of the configuration (see signingKeyProblems). */
  static [CONFIG_CHECK](config: SelfServedConfig, path: string): string[] {
    return signingKeyProblems(config, path);
  }
}

const isMap = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * What makes `signing_keys` unusable: a secret shorter than 16 characters, an empty map, or a
 * `signing_key_id` that names none of them. `path` is the config block's (`providers.<name>.config`).
 */
export function signingKeyProblems(config: Pick<SelfServedConfig, 'signing_keys' | 'signing_key_id'>, path: string): string[] {
  const { signing_keys: keys, signing_key_id: activeKeyId } = config;
  if (!isMap(keys)) return [];
  const problems: string[] = [];
  for (const [id, secret] of Object.entries(keys)) {
    if (typeof secret !== 'string' || secret.length < 16) problems.push(`${path}.signing_keys.${id}: must be a secret of at least 16 characters`);
  }
  const ids = Object.keys(keys);
  if (ids.length === 0) problems.push(`${path}.signing_keys: at least one signing key is required (or leave signing_keys out)`);
  else if (typeof activeKeyId === 'string' && activeKeyId !== '' && !Object.hasOwn(keys, activeKeyId)) {
    problems.push(`${path}.signing_key_id: "${activeKeyId}" is not one of signing_keys (${ids.join(', ')})`);
  }
  return problems;
}

/**
 * Base of the providers whose bytes this process serves itself (local, memory): presigned URLs
 * are HMAC-signed and answered by SignedUrlController.
 */
@Injectable()
export abstract class SelfServedProvider<C extends SelfServedConfig = SelfServedConfig> extends StorageProvider<C> {
  private readonly logger = new Logger('StorageSigning');
  signer!: UrlSigner;

  constructor(@Optional() @Inject(STORAGE_HTTP_ROUTE) private readonly route: string = 'storage') {
    super();
  }

  override async initialize(context: ProviderContext<C>): Promise<void> {
    await super.initialize(context);
    const { signing_keys, signing_secret, signing_key_id } = context.config;
    if (signing_keys) {
      // The module reports these at boot with every other problem; a provider started on its own still refuses them.
      const problems = signingKeyProblems(context.config, `providers.${context.name}.config`);
      if (problems.length) throw new ConfigurationError(`Invalid providers.${context.name}.config:`, problems);
      this.signer = new UrlSigner({ keys: signing_keys, activeKeyId: signing_key_id ?? Object.keys(signing_keys)[0] });
    } else if (signing_secret) {
      this.signer = new UrlSigner({ keys: { default: signing_secret }, activeKeyId: 'default' });
    } else {
      this.logger.warn(
        `Provider "${context.name}" has no signing secret: presigned URLs use a random key and verify only in this process`,
      );
      this.signer = UrlSigner.ephemeral();
    }
  }

  /** URL path (or absolute URL) of a key, each segment percent-encoded. */
  protected urlFor(key: string): string {
    const base = this.config.signed_url_base?.replace(/\/+$/, '') ?? `/${this.route.replace(/^\/+|\/+$/g, '')}/${this.name}`;
    return `${base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private signedUrl(claims: SignedClaims): string {
    return `${this.urlFor(claims.key)}?${this.signer.sign(claims).toString()}`;
  }

  async presignDownload(key: string, options: PresignDownloadOptions): Promise<PresignedRequest> {
    const expires = Math.floor(Date.now() / 1000) + options.expiresIn;
    const url = this.signedUrl({ method: 'GET', provider: this.name, key, expires, filename: options.filename });
    return { url, method: 'GET', headers: {}, expiresAt: new Date(expires * 1000) };
  }

  async presignUpload(key: string, options: PresignUploadOptions): Promise<PresignedRequest> {
    const expires = Math.floor(Date.now() / 1000) + options.expiresIn;
    const url = this.signedUrl({
      method: 'PUT',
      provider: this.name,
      key,
      expires,
      contentType: options.contentType,
      maxSize: options.maxSize,
    });
    return { url, method: 'PUT', headers: { 'content-type': options.contentType }, expiresAt: new Date(expires * 1000) };
  }
}
