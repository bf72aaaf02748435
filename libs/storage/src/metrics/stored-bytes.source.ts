import type { ArtifactRegistry } from '../registry/index.js';

/** Ready artifacts, counted and summed per provider and artifact type. */
export interface StoredBytesRow {
  provider: string;
  artifactType: string;
  artifacts: number;
  bytes: number;
}

export type StoredBytesSource = () => Promise<StoredBytesRow[]>;

/** One grouped query over the registry's ready rows (no per-artifact work). */
export function storedBytesFromRegistry(registry: () => ArtifactRegistry | undefined): StoredBytesSource {
  return async () => {
    const found = registry();
    if (!found) return [];
    const rows = await found.repository
      .createQueryBuilder('a')
      .select('a.provider', 'provider')
      .addSelect('a.artifactType', 'artifactType')
      .addSelect('COUNT(*)', 'artifacts')
      .addSelect('COALESCE(SUM(a.size), 0)', 'bytes')
      .where('a.status = :status', { status: 'ready' })
      .groupBy('a.provider')
      .addGroupBy('a.artifactType')
      .getRawMany<{ provider: string; artifactType: string; artifacts: string | number; bytes: string | number }>();
    // PostgreSQL answers COUNT and SUM of bigint as strings.
    return rows.map((row) => ({ provider: row.provider, artifactType: row.artifactType, artifacts: Number(row.artifacts), bytes: Number(row.bytes) }));
  };
}
