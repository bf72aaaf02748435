import type { StoredArtifact } from '@app/storage';

/** The API's JSON form of an artifact record. */
export function artifactView(artifact: StoredArtifact) {
  return {
    id: artifact.id,
    storageKey: artifact.storageKey,
    provider: artifact.provider,
    contentType: artifact.contentType,
    size: artifact.size,
    sha256: artifact.sha256,
    createdAt: artifact.createdAt.toISOString(),
    tenant: artifact.tenant,
    boardId: artifact.boardId,
    type: artifact.artifactType,
    variant: artifact.variant,
    status: artifact.status,
    metadata: artifact.metadata ?? {},
    expiresAt: artifact.expiresAt ? artifact.expiresAt.toISOString() : null,
  };
}
