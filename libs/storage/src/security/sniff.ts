import { fileTypeFromBuffer } from 'file-type';

/** Bytes read from the head of a body to sniff it (file-type's own recommendation). */
export const SNIFF_BYTES = 4100;

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The head without a UTF-8 BOM and leading whitespace, as a browser's sniffer would see it. */
function textStart(head: Buffer): Buffer {
  let start = head.subarray(0, 3).equals(UTF8_BOM) ? 3 : 0;
  while (start < head.length && (head[start] === 0x20 || head[start] === 0x09 || head[start] === 0x0a || head[start] === 0x0d || head[start] === 0x0c)) start++;
  return head.subarray(start, start + 64);
}

/**
 * Markup a browser would render or run (the WHATWG MIME sniffing patterns for HTML, plus XML
 * and SVG documents). These are the bodies that turn an "image" into stored XSS.
 */
const MARKUP = /^<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--|svg|\?xml)[\s>/]/i;

export function detectMarkup(head: Buffer): 'markup' | undefined {
  const start = textStart(head).toString('latin1');
  return MARKUP.test(start) || /^<\?xml\b/i.test(start) ? 'markup' : undefined;
}

/** `#!` at the very start: an interpreter script. */
export function isShebang(head: Buffer): boolean {
  const start = head.subarray(0, 3).equals(UTF8_BOM) ? head.subarray(3) : head;
  return start[0] === 0x23 && start[1] === 0x21;
}

/** The PROTO opcode of pickle protocols 2 to 5 (protocols 0 and 1 have no magic number). */
export function isPickle(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/**
 * A safetensors body starts with its header length (u64, little endian) and the header's `{`.
 * Requiring a length within `maxHeader` keeps text and other formats from matching by chance.
 */
export function looksLikeSafetensors(head: Buffer, maxHeader: number): boolean {
  if (head.length < 10) return false;
  const length = head.readBigUInt64LE(0);
  return length >= 2n && length <= BigInt(maxHeader) && head[8] === 0x7b;
}

/** file-type's verdict on a head: its MIME type, or undefined when it recognises nothing. */
export async function detectType(head: Buffer): Promise<string | undefined> {
  if (head.length === 0) return undefined;
  return (await fileTypeFromBuffer(head))?.mime;
}
