import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorFunction, type HealthIndicatorResult } from '@nestjs/terminus';
import { StorageProviderRegistry } from '../providers/storage-provider.registry.js';
import { ArtifactRegistry } from '../registry/index.js';
import { redactMessage } from './redact-message.js';
import { STORAGE_HEALTH_OPTIONS } from './storage-health.constants.js';
import type { ResolvedStorageHealthOptions } from './storage-health.options.js';

/** The result key of a provider's check. */
export function providerHealthKey(name: string): string {
  return `storage:${name}`;
}

/** The result key of the registry database's check. */
export const DATABASE_HEALTH_KEY = 'database';

/**
 * Terminus health indicator of the storage module: one check per configured provider (its
 * `ping`, under a timeout, with the latency) and one for the artifact registry's database.
 * A provider marked `optional: true` that fails is `degraded` (reported, HTTP stays 200), a
 * required one `down` (503). The storage services are looked up lazily and non-strictly, like
 * Terminus's own TypeORM indicator, so this module works whether StorageModule is global or not.
 */
@Injectable()
export class StorageHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
    @Inject(STORAGE_HEALTH_OPTIONS) private readonly options: ResolvedStorageHealthOptions,
  ) {}

  private get providers(): StorageProviderRegistry {
    return this.moduleRef.get(StorageProviderRegistry, { strict: false });
  }

  /** Every check readiness depends on, for `HealthCheckService.check(...)`. */
  readinessChecks(): HealthIndicatorFunction[] {
    return [...this.providers.names().map((name) => () => this.checkProvider(name)), () => this.checkDatabase()];
  }

  /** Pings one provider. Up: `{status:'up', type, optional, latencyMs}`; else down or degraded with a message. */
  async checkProvider(name: string, key: string = providerHealthKey(name)): Promise<HealthIndicatorResult> {
    const registry = this.providers;
    const provider = registry.get(name);
    const optional = registry.isOptional(name);
    const facts = { type: registry.options.providers[name]?.type ?? 'unknown', optional };
    return this.run(key, optional, facts, ({ signal }) => provider.ping(signal));
  }

  /** Runs a trivial query through the registry's TypeORM DataSource. */
  async checkDatabase(key: string = DATABASE_HEALTH_KEY): Promise<HealthIndicatorResult> {
    const dataSource = this.moduleRef.get(ArtifactRegistry, { strict: false }).dataSource;
    return this.run(key, false, { type: dataSource.options.type }, async () => {
      await dataSource.query('SELECT 1');
    });
  }

  private async run(
    key: string,
    optional: boolean,
    facts: Record<string, unknown>,
    probe: (options: { signal: AbortSignal }) => Promise<void>,
  ): Promise<HealthIndicatorResult> {
    // Terminus runs the probe under the timeout (aborting its signal) and measures it.
    const attempt = this.health.check(key).attempt(probe).withTimeout(this.options.timeoutMs);
    if (this.options.cacheMs > 0) attempt.cacheFor(this.options.cacheMs);
    const outcome = (await attempt)[key] as { status: string; responseTime: number; message?: string; cachedResponse?: boolean };
    const session = this.health.check(key);
    const data: Record<string, unknown> = { ...facts, latencyMs: outcome.responseTime };
    if (outcome.cachedResponse) data.cached = true;
    if (outcome.status === 'up') return session.up(data);
    data.message = redactMessage(outcome.message ?? 'check failed');
    return optional ? session.degraded(data) : session.down(data);
  }
}
