import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import { InvalidArgumentError, holdErrors } from '@app/storage';

export interface MultipartFile {
  stream: Readable;
  contentType: string;
  filename?: string;
}

/**
 * Streams the `file` field of a multipart/form-data request (busboy: nothing is buffered).
 * Resolves once the file part starts; malformed or truncated forms fail with a 400.
 */
export function multipartFile(request: IncomingMessage, body: Readable): Promise<MultipartFile> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        limits: { files: 1, fields: 20, fieldSize: 4096, parts: 25, headerPairs: 50, fieldNameSize: 100 },
      });
    } catch (error) {
      reject(new InvalidArgumentError(`Malformed multipart request: ${(error as Error).message}`));
      return;
    }
    let file: PassThrough | undefined;
    const fail = (error: Error) => {
      const typed = new InvalidArgumentError(`Malformed multipart body: ${error.message}`);
      if (file) file.destroy(typed);
      else reject(typed);
    };
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || file) {
        stream.resume();
        return;
      }
      file = holdErrors(new PassThrough()); // a form that breaks before the storage reads the part fails it, not the process
      stream.on('error', (error: Error) => file!.destroy(new InvalidArgumentError(`Malformed multipart body: ${error.message}`)));
      stream.on('limit', () => file!.destroy(new InvalidArgumentError('Multipart file part too large')));
      stream.pipe(file);
      resolve({ stream: file, contentType: info.mimeType, filename: info.filename || undefined });
    });
    parser.on('error', fail);
    parser.on('partsLimit', () => fail(new Error('too many parts')));
    parser.on('filesLimit', () => undefined);
    parser.on('close', () => {
      if (!file) reject(new InvalidArgumentError('Multipart request has no "file" field'));
    });
    body.on('error', (error) => fail(error));
    body.pipe(parser);
  });
}
