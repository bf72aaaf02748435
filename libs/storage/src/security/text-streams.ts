import { Transform, type TransformCallback } from 'node:stream';
import { JSONParser, TokenType } from '@streamparser/json';
import { ContentMismatchError } from '../errors/index.js';

/**
 * Passes bytes through unchanged and fails at the first byte sequence that is not UTF-8. The
 * decoder is streaming, so a character split across chunks is fine; nothing is buffered.
 */
export class Utf8ValidatingStream extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private offset = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      callback(new ContentMismatchError(`Body is not valid UTF-8 text (near byte ${this.offset})`));
      return;
    }
    this.offset += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.decode();
    } catch {
      callback(new ContentMismatchError('Body ends in the middle of a UTF-8 character'));
      return;
    }
    callback();
  }
}

/**
 * Passes bytes through unchanged and fails unless they form exactly one JSON document.
 * @streamparser/json checks tokens and grammar; with no path selected and `keepStack: false`
 * it assembles nothing, so memory stays proportional to nesting depth, not to body size.
 */
export class JsonValidatingStream extends Transform {
  private readonly parser = new JSONParser({ paths: [], keepStack: false });
  private failure?: Error;
  private sawToken = false;

  constructor(private readonly maxDepth = 512) {
    super();
    let depth = 0;
    this.parser.onToken = ({ token }) => {
      this.sawToken = true;
      if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
        depth++;
        if (depth > this.maxDepth) throw new Error(`nesting deeper than ${this.maxDepth} levels`);
      } else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) depth--;
    };
    this.parser.onValue = () => undefined;
    this.parser.onError = (error) => {
      this.failure ??= error;
    };
  }

  private refuse(reason: string): ContentMismatchError {
    return new ContentMismatchError(`Body is not valid JSON: ${reason.slice(0, 200)}`);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.failure) {
      try {
        this.parser.write(chunk);
      } catch (error) {
        this.failure ??= error as Error;
      }
    }
    if (this.failure) {
      callback(this.refuse(this.failure.message));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    // A top-level number only ends with the input, so the parser is told the input ended.
    if (!this.failure && !this.parser.isEnded) {
      try {
        this.parser.end();
      } catch (error) {
        this.failure ??= error as Error;
      }
    }
    if (this.failure) callback(this.refuse(this.failure.message));
    else if (!this.sawToken) callback(this.refuse('the body is empty'));
    else if (!this.parser.isEnded) callback(this.refuse('the document is incomplete'));
    else callback();
  }
}
