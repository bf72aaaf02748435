import { Transform, type TransformCallback } from 'node:stream';
import { getManyValues, isMany, none } from 'stream-chain/defs.js';
import { jsonParser } from 'stream-json/core/parser.js';
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

/** Bytes decoded and given to the JSON tokenizer at once. */
const JSON_SLICE = 16 * 1024;

/**
 * Passes bytes through unchanged and fails unless they form exactly one JSON document (UTF-8,
 * optionally after a byte-order mark). stream-json's tokenizer reads the text with every value
 * streamed, never packed: strings and numbers go by in pieces that are dropped at once, so memory
 * stays bounded by the chunk size and the nesting depth (itself bounded by `maxDepth`), however
 * long a string or number is.
 */
export class JsonValidatingStream extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly tokenize = jsonParser({ packValues: false, streamValues: true });
  private depth = 0;
  private values = 0;
  private failure?: Error;

  constructor(private readonly maxDepth = 512) {
    super();
  }

  private refuse(reason: string): ContentMismatchError {
    return new ContentMismatchError(`Body is not valid JSON: ${reason.slice(0, 200)}`);
  }

  /**
   * Decodes and tokenizes bytes in slices: the text decoded at once, what the tokenizer returns
   * for one call and its own stack all grow with the input given at once, and a body handed over
   * as one large Buffer must not make them grow.
   */
  private feed(bytes: Buffer): void {
    for (let start = 0; start < bytes.length; start += JSON_SLICE) {
      this.tokenizeSlice(this.decoder.decode(bytes.subarray(start, start + JSON_SLICE), { stream: true }));
    }
  }

  /** Gives the tokenizer text (or the end of input) and checks the nesting of what it read. */
  private tokenizeSlice(text: string | typeof none): void {
    // A flushable takes `none` as the end of its input (stream-chain's protocol; its type says string).
    const out = (this.tokenize as (input: string | typeof none) => unknown)(text);
    if (!isMany(out)) return;
    for (const token of getManyValues(out) as Array<{ name: string }>) {
      switch (token.name) {
        case 'startObject':
        case 'startArray':
          if (++this.depth > this.maxDepth) throw new Error(`nesting deeper than ${this.maxDepth} levels`);
          this.values++;
          break;
        case 'endObject':
        case 'endArray':
          this.depth--;
          break;
        case 'startString':
        case 'startNumber':
        case 'nullValue':
        case 'trueValue':
        case 'falseValue':
          this.values++;
          break;
      }
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.failure) {
      try {
        this.feed(chunk);
      } catch (error) {
        this.failure = error as Error;
      }
    }
    if (this.failure) callback(this.refuse(this.failure.message));
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.failure) {
      try {
        this.tokenizeSlice(this.decoder.decode());
        this.tokenizeSlice(none); // the end of input: a top-level number ends here, an open document fails
      } catch (error) {
        this.failure = error as Error;
      }
    }
    if (this.failure) callback(this.refuse(this.failure.message));
    else if (this.values === 0) callback(this.refuse('the document is empty'));
    else callback();
  }
}
