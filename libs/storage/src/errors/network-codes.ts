/** Socket-level failure codes (Node and undici): the backend may answer if asked again. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function isNetworkErrorCode(code: unknown): code is string {
  return typeof code === 'string' && NETWORK_ERROR_CODES.has(code);
}
