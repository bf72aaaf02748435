import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import { InvalidArgumentError, PayloadTooLargeError, type StorageError, holdErrors } from '@app/storage';

export interface MultipartFile {
  stream: Readable;
  contentType: string;
  filename?: string;
}

/**
 * Bytes that file fields other than `file` may carry together. They are read and dropped (a
 * browser sends an empty part for every empty file input of a form), so they are bounded.
 */
export const OTHER_FILE_FIELDS_LIMIT = 1024 * 1024;

/**
 * Streams the `file` field of a multipart/form-data request (busboy: nothing is buffered).
 * Resolves once the file part starts. The part's stream ends only once the whole form has been
 * parsed, so a form that is malformed or cut short anywhere, even after the file part, fails the
 * upload with a 400 and stores nothing.
 */
export function multipartFile(request: IncomingMessage, body: Readable): Promise<MultipartFile> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        limits: { files: 10, fields: 20, fieldSize: 4096, parts: 25, headerPairs: 50, fieldNameSize: 100 },
      });
    } catch (error) {
      reject(new InvalidArgumentError(`Malformed multipart request: ${(error as Error).message}`));
      return;
    }
    let file: PassThrough | undefined;
    let fileEnded = false;
    let formEnded = false;
    let failed = false;
    let otherBytes = 0;
    const fail = (error: StorageError) => {
      if (failed) return;
      failed = true;
      if (file) file.destroy(error);
      else reject(error);
    };
    const malformed = (error: Error) => fail(new InvalidArgumentError(`Malformed multipart body: ${error.message}`));
    const endFile = () => {
      if (file && fileEnded && formEnded && !failed) file.end();
    };
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || file) {
        stream.on('data', (chunk: Buffer) => {
          otherBytes += chunk.length;
          if (otherBytes > OTHER_FILE_FIELDS_LIMIT) fail(new PayloadTooLargeError(OTHER_FILE_FIELDS_LIMIT, { details: { field: name } }));
        });
        stream.resume();
        return;
      }
      file = holdErrors(new PassThrough()); // a form that breaks before the storage reads the part fails it, not the process
      stream.on('error', malformed);
      stream.on('limit', () => fail(new InvalidArgumentError('Multipart file part too large')));
      stream.on('end', () => {
        fileEnded = true;
        endFile();
      });
      stream.pipe(file, { end: false });
      resolve({ stream: file, contentType: info.mimeType, filename: info.filename || undefined });
    });
    parser.on('error', malformed);
    parser.on('partsLimit', () => malformed(new Error('too many parts')));
    parser.on('filesLimit', () => malformed(new Error('too many file fields')));
    // 'finish' comes only after the closing boundary; a form cut short fails with 'error' instead.
    parser.on('finish', () => {
      formEnded = true;
      endFile();
    });
    parser.on('close', () => {
      if (!file) fail(new InvalidArgumentError('Multipart request has no "file" field'));
    });
    body.on('error', malformed);
    body.pipe(parser);
  });
}
