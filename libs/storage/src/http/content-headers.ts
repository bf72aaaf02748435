import type { Response } from 'express';
import type { ResolvedRange } from '../contract/index.js';
import { contentRangeHeader } from '../streams/index.js';

/** Types a browser shows without running anything; every other type is served as an attachment. */
const PASSIVE_TYPES = [/^image\/(png|jpeg|gif|webp|avif)$/, /^video\//, /^audio\//, /^text\/plain$/, /^application\/json$/, /^text\/markdown$/];

export function isPassiveContentType(contentType: string): boolean {
  return PASSIVE_TYPES.some((pattern) => pattern.test(contentType));
}

/** RFC 6266 Content-Disposition with an ASCII fallback and a UTF-8 name. */
export function contentDisposition(kind: 'inline' | 'attachment', filename?: string): string {
  if (!filename) return kind;
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export interface ContentHeaders {
  contentType: string;
  contentLength: number;
  etag?: string;
  lastModified?: Date;
  range?: ResolvedRange;
  filename?: string;
  cacheControl?: string;
}

/**
 * Headers for serving stored bytes: exact length, validators, ranges, `nosniff`, a sandboxing
 * CSP, and attachment disposition for anything a browser could execute (HTML, SVG, XML, ...).
 */
export function applyContentHeaders(response: Response, headers: ContentHeaders): void {
  const passive = isPassiveContentType(headers.contentType);
  response.status(headers.range ? 206 : 200);
  response.setHeader('Content-Type', headers.contentType);
  response.setHeader('Content-Length', String(headers.contentLength));
  response.setHeader('Accept-Ranges', 'bytes');
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  if (headers.etag) response.setHeader('ETag', headers.etag);
  if (headers.lastModified) response.setHeader('Last-Modified', headers.lastModified.toUTCString());
  if (headers.cacheControl) response.setHeader('Cache-Control', headers.cacheControl);
  if (headers.range) response.setHeader('Content-Range', contentRangeHeader(headers.range));
  // A file name asks for a download (the presignDownload contract); executable types always are.
  if (!passive || headers.filename) response.setHeader('Content-Disposition', contentDisposition('attachment', headers.filename));
}
