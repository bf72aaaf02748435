import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedStorageOptions } from '../config/index.js';
import { ContentMismatchError } from '../errors/index.js';
import type { ContentInspector, InspectionContext } from '../hooks/index.js';
import { STORAGE_OPTIONS } from '../storage.constants.js';
import { peekHead } from '../streams/index.js';
import { EXECUTABLE_TYPES, isOpaqueDeclared, isTextDeclared, judgeDetection } from './content-kinds.js';
import { SNIFF_BYTES, detectMarkup, detectType, isShebang } from './sniff.js';

/**
 * The declared content type is not trusted: the body's first bytes are sniffed (file-type, plus
 * markup and script patterns) and a body that is something else is refused with 415 before
 * any byte is stored. Settings: `content_validation.sniff` and `.block_executables`.
 */
@Injectable()
export class ContentSniffInspector implements ContentInspector {
  constructor(@Inject(STORAGE_OPTIONS) private readonly options: ResolvedStorageOptions) {}

  async inspect(body: Readable, context: InspectionContext): Promise<Readable> {
    const { sniff, blockExecutables } = this.options.contentValidation;
    if (!sniff && !blockExecutables) return body;
    const peeked = await peekHead(body, SNIFF_BYTES);
    try {
      await this.judge(peeked.head, context.contentType);
    } catch (error) {
      peeked.body.destroy();
      throw error;
    }
    return peeked.body;
  }

  /** Throws ContentMismatchError when the head contradicts the declared type. */
  protected async judge(head: Buffer, declared: string): Promise<void> {
    const { sniff, blockExecutables } = this.options.contentValidation;
    const detected = await detectType(head);
    if (blockExecutables) {
      if (detected && EXECUTABLE_TYPES.has(detected)) {
        throw new ContentMismatchError(`Executable content (${detected}) is not accepted`, { details: { detected, declared } });
      }
      if (isShebang(head) && !isTextDeclared(declared)) {
        throw new ContentMismatchError(`A script is not accepted as ${declared}`, { details: { detected: 'script', declared } });
      }
    }
    if (!sniff) return;
    if (!isTextDeclared(declared) && !isOpaqueDeclared(declared) && detectMarkup(head)) {
      throw new ContentMismatchError(`Body is HTML/XML markup, declared ${declared}`, { details: { detected: 'markup', declared } });
    }
    const verdict = judgeDetection(declared, detected);
    if (!verdict.ok) {
      throw new ContentMismatchError(`Content does not match its declared type: ${verdict.reason}`, {
        details: { declared, ...(detected ? { detected } : {}) },
      });
    }
  }
}
