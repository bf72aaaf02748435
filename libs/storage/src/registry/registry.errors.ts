import { StorageError } from '../errors/index.js';

/** A state transition was asked of a row in another state (a concurrent change won). */
export class ArtifactNotReady extends StorageError {
  override readonly code = 'E_NOT_FOUND';
  override readonly status = 404;
}
