/** Resolved StorageHealthOptions. */
export const STORAGE_HEALTH_OPTIONS = Symbol('BOARDS_STORAGE_HEALTH_OPTIONS');
