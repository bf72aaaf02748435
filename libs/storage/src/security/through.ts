import { pipeline, type Readable, type Transform } from 'node:stream';

/**
 * Pipes a body through a checking transform and returns the transform. A failure on either
 * side reaches the reader with its original error (a client gone mid-body stays an
 * IncompleteBodyError), which is what `.pipe()` would lose.
 */
export function through(source: Readable, transform: Transform): Readable {
  pipeline(source, transform, () => undefined);
  return transform;
}
