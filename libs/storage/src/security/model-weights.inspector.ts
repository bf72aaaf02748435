import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { SAFETENSORS_MAX_HEADER, type ResolvedStorageOptions } from '../config/index.js';
import type { ContentInspector, InspectionContext } from '../hooks/index.js';
import { STORAGE_OPTIONS } from '../storage.constants.js';
import { peekHead } from '../streams/index.js';
import { ZipPickleScanStream, isPickleEntryName, pickleRefusal, zipEntryNameAt } from './pickle.js';
import { SafetensorsValidatingStream } from './safetensors.js';
import { isPickle, isZip, looksLikeSafetensors } from './sniff.js';
import { through } from './through.js';

const HEAD_BYTES = 512;

/** Declared safetensors: by file name, or by the type some tools send. */
function declaresSafetensors(context: InspectionContext): boolean {
  return Boolean(context.filename?.toLowerCase().endsWith('.safetensors')) || context.contentType === 'application/x-safetensors';
}

/**
 * Model weights: safetensors bodies (declared or sniffed) must have a sound header, and
 * pickle-based formats (raw pickles, zip-wrapped PyTorch checkpoints) are refused unless
 * `content_validation.allow_pickle` is set, since unpickling runs code chosen by the uploader.
 */
@Injectable()
export class ModelWeightsInspector implements ContentInspector {
  constructor(@Inject(STORAGE_OPTIONS) private readonly options: ResolvedStorageOptions) {}

  async inspect(body: Readable, context: InspectionContext): Promise<Readable> {
    const { safetensors, allowPickle, maxSafetensorsHeader } = this.options.contentValidation;
    if (!safetensors && allowPickle) return body;
    const { head, body: replay } = await peekHead(body, HEAD_BYTES);
    let out = replay;
    try {
      if (!allowPickle) {
        if (isPickle(head)) throw pickleRefusal('Body is a Python pickle');
        if (isZip(head)) {
          // PyTorch writes data.pkl first: refuse it before a byte is stored; the scan finds later ones.
          const first = zipEntryNameAt(head, 0);
          if (first && isPickleEntryName(first)) throw pickleRefusal(`Zip entry "${first.slice(0, 120)}" is a pickle`);
          out = through(out, new ZipPickleScanStream());
        }
      }
      // Sniffed against the format's bound, so a header over the configured limit is refused, not missed.
      if (safetensors && (declaresSafetensors(context) || looksLikeSafetensors(head, SAFETENSORS_MAX_HEADER))) {
        out = through(out, new SafetensorsValidatingStream({ maxHeader: maxSafetensorsHeader, contentLength: context.contentLength }));
      }
    } catch (error) {
      replay.destroy();
      throw error;
    }
    return out;
  }
}
