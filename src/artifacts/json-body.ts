import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json } from 'express';
import { ContentTypeNotAllowedError, InvalidArgumentError, PayloadTooLargeError, type StorageError } from '@app/storage';

/** Keys that name prototype machinery: no DTO has them, and a whitelist may not see them. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The largest JSON body a route of the reference server reads. */
export const JSON_BODY_LIMIT = 16 * 1024;

/**
 * Express's JSON parser for the routes that take a small JSON object (`POST /uploads`), with its
 * errors turned into the typed ones (`E_INVALID_ARGUMENT`, `E_TOO_LARGE`,
 * `E_CONTENT_TYPE_NOT_ALLOWED`) and, once parsed, the body held to a flat object of scalars.
 * Nested values are refused before anything walks them: class-transformer recurses into each
 * level, and a 3 KB body of 1,500 nested arrays overflowed its stack (a 500).
 */
export function flatJsonBody(): RequestHandler {
  const parse = json({ limit: JSON_BODY_LIMIT });
  return (request: Request, response: Response, next: NextFunction) => {
    parse(request, response, (error?: unknown) => {
      if (error) return next(typedParseError(error));
      const body: unknown = request.body;
      if (body === undefined) return next();
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return next(new InvalidArgumentError('The request body must be a JSON object'));
      }
      for (const [field, value] of Object.entries(body)) {
        if (PROTOTYPE_KEYS.has(field)) return next(new InvalidArgumentError(`Body field "${field}" is not allowed`));
        if (typeof value === 'object' && value !== null) {
          return next(new InvalidArgumentError(`Body field "${field.slice(0, 64)}" must be a string, a number or a boolean`));
        }
      }
      next();
    });
  };
}

function typedParseError(error: unknown): StorageError | unknown {
  const type = (error as { type?: unknown }).type;
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(JSON_BODY_LIMIT, { cause: error });
    case 'entity.parse.failed':
      return new InvalidArgumentError('The request body is not valid JSON', { cause: error });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ContentTypeNotAllowedError(`Unsupported request body ${type === 'charset.unsupported' ? 'charset' : 'encoding'}`, { cause: error });
    case 'request.aborted':
    case 'request.size.invalid':
      return new InvalidArgumentError('The request body ended before its declared length', { cause: error });
    default:
      return error;
  }
}
