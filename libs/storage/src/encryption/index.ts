export { DEFAULT_CHUNK_SIZE, LocalEncryptionConfig } from './encryption.config.js';
export { EnvelopeEncryption, type SealingObject } from './envelope-encryption.js';
export { MasterKeyring, type StoredEnvelope } from './master-keyring.js';
