/**
 * Removes what must never leave the process from an error message shown in a health report:
 * URL query strings (signatures, tokens) and user-info (credentials in an endpoint URL).
 */
export function redactMessage(message: string): string {
  return message
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1[redacted]@')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)\?[^\s#]*/gi, '$1?[redacted]')
    .slice(0, 500);
}
