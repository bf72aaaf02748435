import { Transform, Type } from 'class-transformer';
import { integerish } from '../config/coerce.js';
import { IsInt, IsNumber, IsOptional, Max, Min, ValidateNested } from 'class-validator';

/**
 * Per-operation time limits, in milliseconds. `0` means no limit. Reads are limited until the
 * provider answers with a stream (the transfer itself is not: clients read at their own pace).
 */
export interface ResilienceTimeouts {
  /** Opening a read. Default 30000. */
  readMs?: number;
  /** A whole upload. Default 0 (no limit: large bodies take as long as they take). */
  writeMs?: number;
  /** An upload whose body makes no progress this long fails with TimeoutError. Default 60000. */
  writeIdleMs?: number;
  /** Reading an object's facts. Default 10000. */
  headMs?: number;
  /** Deleting an object. Default 10000. */
  deleteMs?: number;
  /** One page of a listing. Default 30000. */
  listMs?: number;
  /** A server-side copy. Default 60000. */
  copyMs?: number;
  /** Presigning a URL (a network call for some providers). Default 10000. */
  presignMs?: number;
}

/**
 * When a provider counts as down. By default `consecutiveFailures` in a row open the breaker;
 * with `failureRate` set, the rate over a sliding window does instead.
 */
export interface CircuitBreakerOptions {
  /** Consecutive provider faults that open the breaker. Default 5. */
  consecutiveFailures?: number;
  /** Fraction (0-1] of failed calls over `samplingWindowMs` that opens the breaker. */
  failureRate?: number;
  /** Sliding window of the failure rate. Default 30000. */
  samplingWindowMs?: number;
  /** Calls per second below which the failure rate is not judged. Default 5. */
  minimumRps?: number;
  /** How long an open breaker refuses calls before letting one test call through. Default 30000. */
  halfOpenAfterMs?: number;
}

export interface ResilienceRetryOptions {
  /** Attempts of an idempotent operation or a replayable upload, the first included. */
  maxAttempts?: number;
  /** First backoff delay; grows exponentially with decorrelated jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** `resilience:` at the top of the storage options, or under a provider to override it. */
export interface ResilienceOptions {
  timeouts?: ResilienceTimeouts;
  circuitBreaker?: CircuitBreakerOptions;
  /** Overrides the top-level `retry` block. */
  retry?: ResilienceRetryOptions;
}

export class ResilienceTimeoutsDto {
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) readMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) writeMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) writeIdleMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) headMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) deleteMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) listMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) copyMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) presignMs?: number;
}

export class CircuitBreakerDto {
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) consecutiveFailures?: number;
  @IsOptional() @IsNumber() @Min(0.01) @Max(1) failureRate?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(100) samplingWindowMs?: number;
  @IsOptional() @IsNumber() @Min(0) minimumRps?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) halfOpenAfterMs?: number;
}

export class ResilienceRetryDto {
  @Transform(integerish) @IsOptional() @IsInt() @Min(1) maxAttempts?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) initialDelayMs?: number;
  @Transform(integerish) @IsOptional() @IsInt() @Min(0) maxDelayMs?: number;
}

export class ResilienceDto {
  @IsOptional() @ValidateNested() @Type(() => ResilienceTimeoutsDto) timeouts?: ResilienceTimeoutsDto;
  @IsOptional() @ValidateNested() @Type(() => CircuitBreakerDto) circuitBreaker?: CircuitBreakerDto;
  @IsOptional() @ValidateNested() @Type(() => ResilienceRetryDto) retry?: ResilienceRetryDto;
}

/** One provider's effective policy settings: defaults < top-level blocks < the provider's own. */
export interface ProviderResilience {
  timeouts: Required<ResilienceTimeouts>;
  circuitBreaker: Required<Omit<CircuitBreakerOptions, 'failureRate'>> & { failureRate?: number };
  retry: Required<ResilienceRetryOptions>;
}

export const DEFAULT_TIMEOUTS: Required<ResilienceTimeouts> = {
  readMs: 30_000,
  writeMs: 0,
  writeIdleMs: 60_000,
  headMs: 10_000,
  deleteMs: 10_000,
  listMs: 30_000,
  copyMs: 60_000,
  presignMs: 10_000,
};

export const DEFAULT_CIRCUIT_BREAKER: ProviderResilience['circuitBreaker'] = {
  consecutiveFailures: 5,
  samplingWindowMs: 30_000,
  minimumRps: 5,
  halfOpenAfterMs: 30_000,
};

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Merges the layers of settings for one provider. */
export function providerResilience(
  layers: { retry: Required<ResilienceRetryOptions>; global?: ResilienceOptions; provider?: ResilienceOptions },
): ProviderResilience {
  return {
    timeouts: { ...DEFAULT_TIMEOUTS, ...defined(layers.global?.timeouts), ...defined(layers.provider?.timeouts) },
    circuitBreaker: {
      ...DEFAULT_CIRCUIT_BREAKER,
      ...defined(layers.global?.circuitBreaker),
      ...defined(layers.provider?.circuitBreaker),
    },
    retry: { ...layers.retry, ...defined(layers.global?.retry), ...defined(layers.provider?.retry) },
  };
}
