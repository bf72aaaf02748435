import { LessThan } from 'typeorm';
import type { ArtifactRegistry } from '../registry/index.js';

/**
 * Keeps a pending record's `updated_at` fresh while its upload runs, so the sweeper (which
 * removes records pending longer than `pending_timeout_minutes`) never takes an upload that is
 * merely slow. Returns the function that stops it. A refresh never moves the timestamp back, even
 * when two of them reach the database out of order.
 */
export function keepPendingAlive(registry: ArtifactRegistry, artifactId: string, pendingTimeoutMinutes: number): () => void {
  const every = Math.max(1000, Math.floor((pendingTimeoutMinutes * 60_000) / 3));
  const timer = setInterval(() => {
    const now = new Date();
    registry.repository.update({ id: artifactId, status: 'pending', updatedAt: LessThan(now) }, { updatedAt: now }).catch(() => undefined);
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
