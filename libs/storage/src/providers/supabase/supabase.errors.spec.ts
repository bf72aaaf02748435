import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  AlreadyExistsError,
  ConfigurationError,
  ContentTypeNotAllowedError,
  InvalidArgumentError,
  InvalidKeyError,
  InvalidSignatureError,
  ObjectNotFoundError,
  PayloadTooLargeError,
  ProviderUnavailableError,
  RangeNotSatisfiableError,
  SignedUrlExpiredError,
  UnauthenticatedError,
} from '../../errors/index.js';
import { mapFailure, parseFailureBody } from './supabase.errors.js';

// The mapping of SERVERS.md: HTTP 400 with the real status as a string in the body, 500 kept.
// Bodies below are the API's own shapes (servers/supabase-storage-wire.log and its error codes).
const context = { operation: 'upload', key: 'a/b.txt', bucket: 'artifacts', sizeLimit: 1024 };
const map = (status: number, body: object | string) =>
  mapFailure(parseFailureBody(status, typeof body === 'string' ? body : JSON.stringify(body)), context);

describe('supabase error mapping', () => {
  it.each([
    [400, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists', code: 'KeyAlreadyExists' }, AlreadyExistsError],
    [400, { statusCode: '404', error: 'not_found', message: 'Object not found', code: 'NoSuchKey' }, ObjectNotFoundError],
    [400, { statusCode: '404', error: 'Bucket not found', message: 'Bucket not found', code: 'NoSuchBucket' }, ConfigurationError],
    [400, { statusCode: '403', error: 'Unauthorized', message: 'new row violates row-level security policy', code: 'AccessDenied' }, AccessDeniedError],
    [400, { statusCode: '403', error: 'Unauthorized', message: 'invalid signature', code: 'AccessDenied' }, UnauthenticatedError],
    [400, { statusCode: '400', error: 'Bad Request', message: "headers must have required property 'authorization'" }, UnauthenticatedError],
    [400, { statusCode: '400', error: 'InvalidKey', message: 'Invalid key: a/\u0001', code: 'InvalidKey' }, InvalidKeyError],
    [400, { statusCode: '400', error: 'InvalidJWT', message: 'jwt expired', code: 'InvalidJWT' }, SignedUrlExpiredError],
    [400, { statusCode: '400', error: 'InvalidSignature', message: 'The url do not match the signature', code: 'InvalidSignature' }, InvalidSignatureError],
    [400, { statusCode: '413', error: 'Payload too large', message: 'The object exceeded the maximum allowed size', code: 'EntityTooLarge' }, PayloadTooLargeError],
    [400, { statusCode: '415', error: 'invalid_mime_type', message: 'mime type text/html is not supported', code: 'InvalidMimeType' }, ContentTypeNotAllowedError],
    [400, { statusCode: '416', error: 'invalid_range', message: 'invalid range provided', code: 'InvalidRange' }, RangeNotSatisfiableError],
    [400, { statusCode: '423', error: 'ResourceLocked', message: 'The resource is locked', code: 'ResourceLocked' }, ProviderUnavailableError],
    [400, { statusCode: '544', error: 'DatabaseTimeout', message: 'The connection to the database timed out', code: 'DatabaseTimeout' }, ProviderUnavailableError],
    [500, { statusCode: '500', error: 'Internal', message: 'Internal Server Error' }, ProviderUnavailableError],
    [400, { statusCode: '400', error: 'InvalidRequest', message: 'No content provided', code: 'InvalidRequest' }, InvalidArgumentError],
    // The resumable endpoint answers with real statuses and a text body.
    [409, 'The resource already exists', AlreadyExistsError],
    [413, 'Maximum size exceeded\n', PayloadTooLargeError],
    [502, '<html>Bad gateway</html>', ProviderUnavailableError],
  ])('HTTP %i %j -> %o', (status, body, type) => {
    const error = map(status, body);
    expect(error).toBeInstanceOf(type);
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('keeps the real status and code for logs, and the bucket limit for a too-large body', () => {
    const error = map(400, { statusCode: '413', error: 'Payload too large', message: 'too big', code: 'EntityTooLarge' });
    expect(error).toMatchObject({ limit: 1024, details: { bucket: 'artifacts', statusCode: '413', supabaseCode: 'EntityTooLarge' } });
  });
});
