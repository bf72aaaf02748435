import { ProviderUnavailableError, type StorageErrorOptions } from '../errors/index.js';

/**
 * The provider's circuit breaker is open: the call was refused without touching the backend.
 * A 503 like any unavailable provider; never retried (the breaker decides when to test again).
 */
export class CircuitOpenError extends ProviderUnavailableError {
  constructor(
    readonly provider: string,
    options?: StorageErrorOptions,
  ) {
    super(`Storage provider "${provider}" is unavailable (circuit breaker open)`, {
      ...options,
      details: { provider, breaker: 'open', ...options?.details },
    });
  }

  override get transient(): boolean {
    return false;
  }
}
