import { Transform, type TransformCallback } from 'node:stream';
import { Tokenizer, TokenType } from '@streamparser/json';
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

type Expect = 'value' | 'key' | 'colon' | 'comma-or-close' | 'done';

/**
 * The JSON grammar over @streamparser/json's tokens: one value, then nothing. Keeps only the
 * stack of open containers (bounded by `maxDepth`), never the values themselves.
 */
class JsonGrammar {
  private expect: Expect = 'value';
  /** True right after `[` or `{`, where the container may close at once. */
  private mayClose = false;
  private readonly open: Array<'object' | 'array'> = [];

  constructor(private readonly maxDepth: number) {}

  get complete(): boolean {
    return this.expect === 'done';
  }

  accept(token: TokenType): void {
    switch (this.expect) {
      case 'value':
        if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) return this.push(token === TokenType.LEFT_BRACE ? 'object' : 'array');
        if (token === TokenType.RIGHT_BRACKET && this.mayClose && this.open.at(-1) === 'array') return this.pop();
        if (token >= TokenType.TRUE && token <= TokenType.NUMBER) return this.afterValue();
        break;
      case 'key':
        if (token === TokenType.STRING) return this.to('colon');
        if (token === TokenType.RIGHT_BRACE && this.mayClose) return this.pop();
        break;
      case 'colon':
        if (token === TokenType.COLON) return this.to('value');
        break;
      case 'comma-or-close':
        if (token === TokenType.COMMA) return this.to(this.open.at(-1) === 'object' ? 'key' : 'value');
        if (token === (this.open.at(-1) === 'object' ? TokenType.RIGHT_BRACE : TokenType.RIGHT_BRACKET)) return this.pop();
        break;
      case 'done':
        throw new Error('content after the end of the JSON document');
    }
    throw new Error(`unexpected ${TokenType[token]} where a ${this.expect} was expected`);
  }

  private to(expect: Expect, mayClose = false): void {
    this.expect = expect;
    this.mayClose = mayClose;
  }

  private push(kind: 'object' | 'array'): void {
    if (this.open.length >= this.maxDepth) throw new Error(`nesting deeper than ${this.maxDepth} levels`);
    this.open.push(kind);
    this.to(kind === 'object' ? 'key' : 'value', true);
  }

  private pop(): void {
    this.open.pop();
    this.afterValue();
  }

  private afterValue(): void {
    this.to(this.open.length === 0 ? 'done' : 'comma-or-close');
  }
}

/**
 * Passes bytes through unchanged and fails unless they form exactly one JSON document.
 * @streamparser/json's tokenizer reads the bytes (strings, escapes, numbers, literals); a
 * grammar over its tokens checks the structure. Nothing is assembled, so memory stays
 * proportional to nesting depth (and the longest string), not to the body's size.
 */
export class JsonValidatingStream extends Transform {
  private readonly tokenizer = new Tokenizer();
  private readonly grammar: JsonGrammar;
  private failure?: Error;

  constructor(maxDepth = 512) {
    super();
    this.grammar = new JsonGrammar(maxDepth);
    this.tokenizer.onToken = ({ token }) => this.grammar.accept(token);
    this.tokenizer.onError = (error) => {
      this.failure ??= error;
    };
  }

  private refuse(reason: string): ContentMismatchError {
    return new ContentMismatchError(`Body is not valid JSON: ${reason.slice(0, 200)}`);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.failure) {
      try {
        this.tokenizer.write(chunk);
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
    // A top-level number only ends with the input, so the tokenizer is told the input ended.
    if (!this.failure && !this.tokenizer.isEnded) {
      try {
        this.tokenizer.end();
      } catch (error) {
        this.failure ??= error as Error;
      }
    }
    if (this.failure) callback(this.refuse(this.failure.message));
    else if (!this.grammar.complete) callback(this.refuse('the document is empty or incomplete'));
    else callback();
  }
}
