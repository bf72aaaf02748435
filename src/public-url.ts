import type { Request } from 'express';

let configuredBase: string | undefined;

/** Sets PUBLIC_URL, the absolute base of URLs handed to clients. */
export function setPublicUrl(base: string | undefined): void {
  configuredBase = base?.replace(/\/+$/, '');
}

/**
 * Makes a provider's URL absolute. Self-served providers sign path-only URLs; they are joined to
 * PUBLIC_URL, or in development to the origin the request came in on.
 */
export function absoluteUrl(request: Request, url: string): string {
  if (/^https?:\/\//i.test(url)) return url;
  const base = configuredBase ?? `${request.protocol}://${request.get('host') ?? 'localhost'}`;
  return `${base}${url.startsWith('/') ? '' : '/'}${url}`;
}
