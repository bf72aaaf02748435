/**
 * Errors as the Storage API renders them: the real status travels as a STRING in the body and
 * the HTTP status is 400, except 500 which stays 500 (SERVERS.md, servers/supabase-storage-wire.log).
 */
export class StorageHttpError extends Error {
  constructor(
    readonly httpStatusCode: number,
    readonly code: string,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }

  get responseStatus(): number {
    return this.httpStatusCode === 500 ? 500 : 400;
  }

  render() {
    return { statusCode: String(this.httpStatusCode), error: this.error, message: this.message, code: this.code };
  }
}

/** A request that fails schema validation (e.g. no Authorization header): no `code` field. */
export class ValidationError extends Error {
  render() {
    return { statusCode: '400', error: 'Bad Request', message: this.message };
  }
}

export const errors = {
  noSuchKey: (_resource: string) => new StorageHttpError(404, 'NoSuchKey', 'not_found', 'Object not found'),
  noSuchBucket: (_bucket: string) => new StorageHttpError(404, 'NoSuchBucket', 'Bucket not found', 'Bucket not found'),
  keyAlreadyExists: (_resource: string) => new StorageHttpError(409, 'KeyAlreadyExists', 'Duplicate', 'The resource already exists'),
  bucketAlreadyExists: (_bucket: string) => new StorageHttpError(409, 'BucketAlreadyExists', 'Duplicate', 'The resource already exists'),
  bucketNotEmpty: (_bucket: string) =>
    new StorageHttpError(409, 'ResourceNotEmpty', 'ResourceNotEmpty', 'The bucket you tried to delete is not empty'),
  accessDenied: (message: string) => new StorageHttpError(403, 'AccessDenied', 'Unauthorized', message || 'Access denied'),
  rowLevelSecurity: () =>
    new StorageHttpError(403, 'AccessDenied', 'Unauthorized', 'new row violates row-level security policy'),
  invalidJwt: (message: string) => new StorageHttpError(400, 'InvalidJWT', 'InvalidJWT', message || 'Invalid JWT'),
  invalidSignature: () => new StorageHttpError(400, 'InvalidSignature', 'InvalidSignature', 'The url do not match the signature'),
  invalidKey: (key: string) => new StorageHttpError(400, 'InvalidKey', 'InvalidKey', `Invalid key: ${key}`),
  invalidMimeType: (mime: string) =>
    new StorageHttpError(415, 'InvalidMimeType', 'invalid_mime_type', `mime type ${mime} is not supported`),
  entityTooLarge: () =>
    new StorageHttpError(413, 'EntityTooLarge', 'Payload too large', 'The object exceeded the maximum allowed size'),
  // Not in the recorded exchange: the S3 backend's InvalidRange, rendered the same way.
  invalidRange: () => new StorageHttpError(416, 'InvalidRange', 'invalid_range', 'invalid range provided'),
  invalidRequest: (message: string) => new StorageHttpError(400, 'InvalidRequest', 'InvalidRequest', message),
  internal: (message = 'Internal server error') => new StorageHttpError(500, 'InternalError', 'Internal', message),
  aborted: (cause: unknown) =>
    new StorageHttpError(500, 'Aborted', 'Aborted', `request aborted: ${String((cause as Error)?.message ?? cause)}`),
  missingHeader: (name: string) => new ValidationError(`headers must have required property '${name}'`),
  missingBodyProperty: (name: string) => new ValidationError(`body must have required property '${name}'`),
  missingQueryProperty: (name: string) => new ValidationError(`querystring must have required property '${name}'`),
  invalidBody: (message: string) => new ValidationError(message),
};

/** Errors of the resumable (TUS) endpoint, which answers with real statuses and a text body. */
export class TusHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
