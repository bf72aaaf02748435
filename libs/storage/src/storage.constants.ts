/** Validated, defaulted options (ResolvedStorageOptions). */
export const STORAGE_OPTIONS = Symbol('BOARDS_STORAGE_OPTIONS');
/** Path prefix under which SignedUrlController serves self-served providers' URLs. */
export const STORAGE_HTTP_ROUTE = Symbol('BOARDS_STORAGE_HTTP_ROUTE');
/** Content inspectors (an array) run on every upload before anything is stored. */
export const STORAGE_CONTENT_INSPECTORS = Symbol('BOARDS_STORAGE_CONTENT_INSPECTORS');
/** Content scanners (an array) run on every stored body before its artifact becomes ready. */
export const STORAGE_CONTENT_SCANNERS = Symbol('BOARDS_STORAGE_CONTENT_SCANNERS');

const PROVIDER_TOKEN_PREFIX = 'BoardsStorageProvider:';

/** The DI token of a configured provider instance. */
export function getStorageProviderToken(name: string): string {
  return `${PROVIDER_TOKEN_PREFIX}${name}`;
}
