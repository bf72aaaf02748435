import type { ValidationError } from 'class-validator';
import { InvalidArgumentError } from '@app/storage';

/** ValidationPipe's errors as our typed 400 (`E_INVALID_ARGUMENT`), every problem listed. */
export function validationFailed(errors: ValidationError[]): InvalidArgumentError {
  const problems = errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => (message.startsWith(error.property) ? message : `${error.property}: ${message}`)),
  );
  return new InvalidArgumentError(`Invalid request body: ${problems.join('; ')}`);
}
