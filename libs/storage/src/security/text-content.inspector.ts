import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedStorageOptions } from '../config/index.js';
import { ContentMismatchError } from '../errors/index.js';
import type { ContentInspector, InspectionContext } from '../hooks/index.js';
import { STORAGE_OPTIONS } from '../storage.constants.js';
import { isJsonDeclared } from './content-kinds.js';
import { JsonValidatingStream, Utf8ValidatingStream } from './text-streams.js';
import { through } from './through.js';

const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * Text is what it claims: `text/*` must be UTF-8 and JSON types one valid JSON document
 * (RFC 8259 JSON is UTF-8 too). Checked while the bytes stream to the backend; a failure
 * aborts the write, so the object and its record are removed. Settings:
 * `content_validation.utf8_text` and `.json`.
 */
@Injectable()
export class TextContentInspector implements ContentInspector {
  constructor(@Inject(STORAGE_OPTIONS) private readonly options: ResolvedStorageOptions) {}

  inspect(body: Readable, context: InspectionContext): Readable {
    const settings = this.options.contentValidation;
    const json = settings.json && isJsonDeclared(context.contentType);
    const text = settings.utf8Text && (context.contentType.startsWith('text/') || isJsonDeclared(context.contentType));
    if (!json && !text) return body;
    const charset = context.contentTypeParams.charset?.toLowerCase();
    if (text && charset !== undefined && !UTF8_CHARSETS.has(charset)) {
      // The record keeps no charset, so bytes in another encoding would be served as mojibake.
      throw new ContentMismatchError(`Only UTF-8 text is accepted, declared charset ${charset.slice(0, 40)}`);
    }
    let out = body;
    if (text) out = through(out, new Utf8ValidatingStream());
    if (json) out = through(out, new JsonValidatingStream());
    return out;
  }
}
