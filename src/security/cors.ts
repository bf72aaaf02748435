import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface.js';

/**
 * CORS for browsers calling the API and uploading straight to signed URLs: the preflight of a
 * `PUT` with `Content-Type` (and of API calls with `Authorization`) is answered for the
 * configured origins only. No credentials mode: the API takes bearer tokens, not cookies.
 * `CORS_ORIGINS=*` allows every origin (public, token-protected APIs only).
 */
export function corsOptions(origins: string[]): CorsOptions {
  return {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Content-Length', 'Range', 'If-None-Match', 'If-Range'],
    exposedHeaders: ['ETag', 'Content-Range', 'Content-Length', 'Content-Disposition', 'Accept-Ranges', 'Retry-After'],
    credentials: false,
    maxAge: 600,
    optionsSuccessStatus: 204,
  };
}
