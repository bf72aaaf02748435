import { Transform, type TransformCallback } from 'node:stream';
import { ContentMismatchError } from '../errors/index.js';

/** Bits per element of each safetensors dtype (the format's list, sub-byte floats included). */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function refuse(reason: string): ContentMismatchError {
  return new ContentMismatchError(`Invalid safetensors file: ${reason}`);
}

/**
 * Checks a safetensors header (the JSON after the 8-byte length) the way the reference
 * implementation does: an object of tensors with a known dtype, a shape and data offsets whose
 * span matches the shape, laid out back to back from offset 0. Returns where tensor data ends.
 */
export function validateSafetensorsHeader(bytes: Buffer): number {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw refuse('the header is not UTF-8 JSON');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw refuse('the header is not a JSON object');
  const spans: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header)) {
    const label = JSON.stringify(name.slice(0, 80));
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        throw refuse('__metadata__ must map names to strings');
      }
      continue;
    }
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw refuse(`tensor ${label} is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    const bits = typeof dtype === 'string' && Object.hasOwn(DTYPE_BITS, dtype) ? DTYPE_BITS[dtype] : undefined;
    if (bits === undefined) throw refuse(`tensor ${label} has an unknown dtype`);
    if (!Array.isArray(shape) || !shape.every(isCount)) throw refuse(`tensor ${label} has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw refuse(`tensor ${label} has invalid data_offsets`);
    }
    const elementBits = (shape as number[]).reduce((total, dim) => total * BigInt(dim), 1n) * BigInt(bits);
    if (elementBits % 8n !== 0n || elementBits / 8n !== BigInt(offsets[1] - offsets[0])) {
      throw refuse(`tensor ${label} spans ${offsets[1] - offsets[0]} bytes, its dtype and shape need ${elementBits / 8n}`);
    }
    spans.push([offsets[0], offsets[1], label]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [begin, finish, label] of spans) {
    if (begin !== end) throw refuse(`tensor ${label} does not start where the previous one ends (overlap or gap)`);
    end = finish;
  }
  return end;
}

export interface SafetensorsCheckOptions {
  /** Largest header accepted, in bytes. */
  maxHeader: number;
  /** The body's declared length, when known: checked before the header is even read. */
  contentLength?: number;
}

/**
 * Passes a safetensors body through while checking it: the 8-byte little-endian header length
 * (bounded), the header itself, and that the body ends exactly where the last tensor does.
 * Nothing leaves the stream until the header is validated, so a bad header stores nothing.
 * Memory: the header only (at most `maxHeader`).
 */
export class SafetensorsValidatingStream extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private headerLength?: number;
  private expectedTotal?: number;
  private seen = 0;

  constructor(private readonly options: SafetensorsCheckOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    try {
      if (this.expectedTotal !== undefined) {
        this.checkNotPastEnd();
        callback(null, chunk);
        return;
      }
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.headerLength === undefined && this.heldBytes >= 8) this.readLength();
      if (this.headerLength !== undefined && this.heldBytes >= 8 + this.headerLength) {
        const held = Buffer.concat(this.held, this.heldBytes);
        this.held = [];
        const dataEnd = validateSafetensorsHeader(held.subarray(8, 8 + this.headerLength));
        this.expectedTotal = 8 + this.headerLength + dataEnd;
        const { contentLength } = this.options;
        if (contentLength !== undefined && contentLength !== this.expectedTotal) {
          throw refuse(`the header describes ${this.expectedTotal} bytes, the body has ${contentLength}`);
        }
        this.checkNotPastEnd();
        callback(null, held);
        return;
      }
      callback();
    } catch (error) {
      this.held = [];
      callback(error as Error);
    }
  }

  private readLength(): void {
    const first = Buffer.concat(this.held, this.heldBytes).subarray(0, 8);
    const length = first.readBigUInt64LE(0);
    if (length > BigInt(this.options.maxHeader)) {
      throw refuse(`its header of ${length} bytes exceeds the limit of ${this.options.maxHeader}`);
    }
    this.headerLength = Number(length);
    if (this.headerLength < 2) throw refuse('the header is empty');
    const { contentLength } = this.options;
    if (contentLength !== undefined && 8 + this.headerLength > contentLength) {
      throw refuse(`its header of ${this.headerLength} bytes is longer than the body`);
    }
  }

  private checkNotPastEnd(): void {
    if (this.seen > this.expectedTotal!) throw refuse(`the body continues past the end of its last tensor (${this.expectedTotal} bytes)`);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedTotal === undefined) {
      callback(refuse(this.headerLength === undefined ? 'the body is shorter than its 8-byte header length' : 'the body ends inside its header'));
      return;
    }
    if (this.seen !== this.expectedTotal) {
      callback(refuse(`the header describes ${this.expectedTotal} bytes, the body has ${this.seen}`));
      return;
    }
    callback();
  }
}
