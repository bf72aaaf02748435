/**
 * Which detected types a declared type accepts, and which declared types count as text.
 * Detected types are file-type's names; declared ones are what clients send.
 */

/** Declared types whose bytes file-type recognises reliably: an unrecognised body is refused. */
const STRICT: Record<string, readonly string[]> = {
  'image/png': ['image/png', 'image/apng'],
  'image/apng': ['image/apng', 'image/png'],
  'image/jpeg': ['image/jpeg'],
  'image/gif': ['image/gif'],
  'image/webp': ['image/webp'],
  'image/avif': ['image/avif'],
  'image/bmp': ['image/bmp'],
  'image/tiff': ['image/tiff'],
  'image/heic': ['image/heic', 'image/heif'],
  'image/heif': ['image/heif', 'image/heic'],
  // ISO media: one container family, brands vary by the recording device.
  'video/mp4': ['video/mp4', 'video/x-m4v', 'video/quicktime', 'video/3gpp', 'video/3gpp2', 'audio/mp4', 'audio/x-m4a'],
  'video/quicktime': ['video/quicktime', 'video/mp4', 'video/x-m4v'],
  'video/x-m4v': ['video/x-m4v', 'video/mp4'],
  'audio/mp4': ['audio/mp4', 'audio/x-m4a', 'video/mp4'],
  'audio/x-m4a': ['audio/x-m4a', 'audio/mp4', 'video/mp4'],
  'video/webm': ['video/webm', 'video/matroska'],
  'video/x-matroska': ['video/matroska', 'video/webm'],
  'audio/webm': ['video/webm', 'video/matroska'],
  'audio/wav': ['audio/wav'],
  'audio/x-wav': ['audio/wav'],
  'audio/wave': ['audio/wav'],
  'audio/vnd.wave': ['audio/wav'],
  'audio/ogg': ['audio/ogg', 'audio/ogg; codecs=opus', 'audio/opus', 'application/ogg', 'video/ogg'],
  'video/ogg': ['video/ogg', 'audio/ogg', 'application/ogg'],
  'audio/flac': ['audio/flac'],
  'audio/aac': ['audio/aac'],
  'application/pdf': ['application/pdf'],
  'application/zip': ['application/zip'],
  'application/gzip': ['application/gzip'],
  'model/gltf-binary': ['model/gltf-binary'],
};

/** Native executables: refused under every declared type while block_executables is on. */
export const EXECUTABLE_TYPES: ReadonlySet<string> = new Set([
  'application/x-elf',
  'application/x-msdownload',
  'application/x-mach-binary',
  'application/java-vm',
]);

/** Detected types that are text themselves (so a text declaration may carry them). */
const TEXTUAL_DETECTIONS = /^(text\/|application\/xml$)/;

export function isTextDeclared(essence: string): boolean {
  return essence.startsWith('text/') || isJsonDeclared(essence) || essence === 'application/xml' || essence.endsWith('+xml');
}

export function isJsonDeclared(essence: string): boolean {
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}

/** The generic binary type: anything may be declared so (executables and pickles aside). */
export function isOpaqueDeclared(essence: string): boolean {
  return essence === 'application/octet-stream';
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Does a detected type (undefined: not recognised) fit the declared type?
 * - strict types need a recognised, compatible body;
 * - text types accept no recognised binary format;
 * - other types accept an unrecognised body, or the same type.
 */
export function judgeDetection(declared: string, detected: string | undefined): Verdict {
  if (isOpaqueDeclared(declared)) return { ok: true };
  const strict = STRICT[declared];
  if (strict) {
    if (detected && strict.includes(detected)) return { ok: true };
    return { ok: false, reason: detected ? `body is ${detected}, declared ${declared}` : `body is not ${declared}` };
  }
  if (detected === undefined || detected === declared) return { ok: true };
  if (isTextDeclared(declared)) {
    return TEXTUAL_DETECTIONS.test(detected) ? { ok: true } : { ok: false, reason: `body is ${detected}, declared ${declared}` };
  }
  return { ok: false, reason: `body is ${detected}, declared ${declared}` };
}
