import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import type { ResolvedStorageOptions } from '../config/index.js';
import { ConfigurationError } from '../errors/index.js';
import { StorageProviderRegistry } from '../providers/storage-provider.registry.js';
import { ArtifactRegistry } from '../registry/index.js';
import { StorageResilience } from '../resilience/storage-resilience.js';
import { StorageInstrumentation } from '../service/instrumentation.js';
import { STORAGE_OPTIONS } from '../storage.constants.js';
import { invalidCronProblem } from './cleanup-checks.js';
import { CleanupQueries } from './cleanup.queries.js';
import { STORAGE_CLEANUP_MODULE_OPTIONS, type StorageCleanupModuleOptions } from './cleanup.options.js';
import { createSweepLock, type SweepLock } from './locks/index.js';
import { StorageSweeper, type SweepResult } from './storage-sweeper.js';

export interface SweepReport extends Partial<SweepResult> {
  /** False when another instance (or a sweep still running here) holds the lock: nothing was done. */
  ran: boolean;
  /** The lock that elected this sweeper: `advisory`, `lease`, `redis` or `none`. */
  lock: string;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * Schedules the sweep from configuration (`cleanup.cron`, else every `cleanup_interval_hours`)
 * through SchedulerRegistry, and makes sure one replica sweeps at a time. With
 * `cleanup.enabled: false` nothing is scheduled here; `sweep()` still works when called.
 */
@Injectable()
export class StorageCleanupService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('StorageCleanup');
  private options!: ResolvedStorageOptions;
  private sweeper!: StorageSweeper;
  private lock!: SweepLock;
  private running?: Promise<SweepReport>;
  private scheduled?: 'cron' | 'interval';

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly scheduler: SchedulerRegistry,
    @Inject(STORAGE_CLEANUP_MODULE_OPTIONS) private readonly moduleOptions: StorageCleanupModuleOptions,
  ) {}

  /** The SchedulerRegistry name of the sweep job. */
  get jobName(): string {
    return this.moduleOptions.jobName ?? 'boards-storage-cleanup';
  }

  /** The lock in use (after bootstrap). */
  get lockKind(): string {
    return this.lock.kind;
  }

  private find<T>(token: unknown): T {
    try {
      return this.moduleRef.get(token as never, { strict: false }) as T;
    } catch (error) {
      throw new ConfigurationError('StorageCleanupModule needs StorageModule in the same application', [], { cause: error });
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    // StorageModule need not be global: its providers are looked up across the application.
    this.options = this.find<ResolvedStorageOptions>(STORAGE_OPTIONS);
    const registry = this.find<ArtifactRegistry>(ArtifactRegistry);
    this.sweeper = new StorageSweeper({
      options: this.options,
      providers: this.find(StorageProviderRegistry),
      resilience: this.find(StorageResilience),
      instrumentation: this.find(StorageInstrumentation),
      queries: new CleanupQueries(registry.dataSource),
    });
    this.lock = this.moduleOptions.lock ?? (await createSweepLock(this.options.cleanup, registry.dataSource, this.jobName));
    if (this.options.cleanup.enabled) this.schedule();
    else this.logger.log('cleanup disabled on this instance (cleanup.enabled: false)');
  }

  private schedule(): void {
    const { cron, cleanupIntervalHours } = this.options.cleanup;
    const tick = () => {
      this.sweep().catch((error) => this.logger.error('cleanup sweep failed', { error: String(error) }));
    };
    if (cron) {
      let job: CronJob;
      try {
        job = CronJob.from({ cronTime: cron, onTick: tick, start: false });
      } catch (error) {
        throw new ConfigurationError(invalidCronProblem(cron), [], { cause: error });
      }
      this.scheduler.addCronJob(this.jobName, job);
      job.start();
      this.scheduled = 'cron';
    } else {
      const timer = setInterval(tick, cleanupIntervalHours * 3600_000);
      timer.unref?.();
      this.scheduler.addInterval(this.jobName, timer);
      this.scheduled = 'interval';
    }
    this.logger.log('cleanup scheduled', { schedule: cron ?? `every ${cleanupIntervalHours} h`, lock: this.lock.kind });
  }

  /**
   * Sweeps once if this instance wins the lock: expired temporary artifacts, bytes of deleted
   * records, abandoned uploads and orphaned objects. `now` is for tools and tests.
   */
  async sweep(now?: Date): Promise<SweepReport> {
    const startedAt = new Date();
    if (this.running) return { ran: false, lock: this.lock.kind, startedAt, finishedAt: new Date() };
    const run = (async (): Promise<SweepReport> => {
      const handle = await this.lock.tryAcquire();
      if (!handle) return { ran: false, lock: this.lock.kind, startedAt, finishedAt: new Date() };
      try {
        const result = await this.sweeper.run(now ?? new Date());
        const report = { ran: true, lock: this.lock.kind, startedAt, finishedAt: new Date(), ...result };
        this.logger.log('cleanup sweep done', {
          expired: result.expired.length,
          purged: result.purged.length,
          abandoned: result.abandoned.length,
          orphans: result.orphans.length,
          failed: result.failed.length,
          durationMs: report.finishedAt.getTime() - startedAt.getTime(),
        });
        return report;
      } finally {
        await handle.release().catch((error) => this.logger.warn('could not release the cleanup lock', { error: String(error) }));
      }
    })();
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // The schedule module removes every registered job at shutdown too; whoever runs first wins.
    if (this.scheduled === 'cron' && this.scheduler.doesExist('cron', this.jobName)) this.scheduler.deleteCronJob(this.jobName);
    if (this.scheduled === 'interval' && this.scheduler.doesExist('interval', this.jobName)) this.scheduler.deleteInterval(this.jobName);
    this.scheduled = undefined;
    await this.running?.catch(() => undefined);
    await this.lock?.close?.();
  }
}
