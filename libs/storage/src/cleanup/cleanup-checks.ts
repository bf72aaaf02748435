import { createRequire } from 'node:module';
import type { CleanupOptions } from '../config/storage-options.js';

/** The problem of a `cleanup.cron` that cron, the sweeper's scheduler, refuses. */
export const invalidCronProblem = (cron: string) => `cleanup.cron "${cron}" is not a valid cron expression`;

/** The problem of `cleanup.lock: redis` without the Redis URL. */
export const REDIS_URL_MISSING = 'cleanup.lock is "redis" but cleanup.redis_url is not set';

interface CronPackage {
  validateCronExpression(expression: string): { valid: boolean };
}

const requireHere = createRequire(import.meta.url);

/**
 * cron, loaded synchronously so that loadStorageConfig can use it. It is an optional peer, needed
 * only by the sweeper: without it nothing here can schedule, and nothing is checked.
 */
function cronPackage(): CronPackage | undefined {
  try {
    return requireHere('cron') as CronPackage;
  } catch (error) {
    const code = (error as { code?: string })?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * What the sweeper would refuse when it starts, known from the `cleanup` block alone: a cron
 * expression cron cannot parse, a Redis lock without its URL. Checked whether or not the sweeper
 * runs on this instance, since replicas usually share one configuration.
 */
export function cleanupProblems(cleanup: Pick<CleanupOptions, 'cron' | 'lock' | 'redisUrl'> | undefined): string[] {
  const problems: string[] = [];
  const cron = cleanup?.cron;
  if (typeof cron === 'string' && cron !== '' && cronPackage()?.validateCronExpression(cron).valid === false) {
    problems.push(invalidCronProblem(cron));
  }
  if (cleanup?.lock === 'redis' && !cleanup.redisUrl) problems.push(REDIS_URL_MISSING);
  return problems;
}
