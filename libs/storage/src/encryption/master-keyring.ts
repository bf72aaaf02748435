import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { ConfigurationError, CorruptionError, EncryptionKeyUnavailableError } from '../errors/index.js';
import { DATA_KEY_BYTES, NONCE_BYTES, TAG_BYTES, type EnvelopeHeader } from './envelope-format.js';

/**
 * What an object's metadata records about its encryption. The data key is never stored in the
 * clear: `wrappedKey` is the data key sealed (AES-256-GCM) by master key `keyId`, bound to the
 * object's header so an envelope copied onto another object does not open.
 */
export interface StoredEnvelope {
  v: 1;
  /** Id of the master key that wrapped the data key. */
  keyId: string;
  /** base64url(nonce | sealed data key | tag). */
  wrappedKey: string;
  /** First 8 bytes of HMAC-SHA256(master key, label): tells a wrong key from a tampered envelope. */
  keyCheck: string;
  /** Plaintext bytes per frame (also in the authenticated header). */
  chunkSize: number;
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const WRAP_LABEL = Buffer.from('boards-storage/data-key-wrap/v1\0');
const CHECK_LABEL = 'boards-storage/master-key-check/v1';

interface MasterKey {
  id: string;
  key: KeyObject;
  check: string;
}

function decodeKey(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) return undefined;
  const bytes = Buffer.from(value.trim(), value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  return bytes.length === DATA_KEY_BYTES ? bytes : undefined;
}

/** Decodes the configured master keys and picks the active one, noting every problem with its path. */
function readKeys(
  masterKeys: Record<string, unknown>,
  activeKeyId: string | undefined,
  configPath: string,
): { keys: Map<string, MasterKey>; active: string | undefined; problems: string[] } {
  const problems: string[] = [];
  const keys = new Map<string, MasterKey>();
  for (const [id, value] of Object.entries(masterKeys ?? {})) {
    if (!KEY_ID.test(id)) {
      problems.push(`${configPath}.master_keys.${id}: key ids are 1-64 letters, digits, "_", "-" or "." (starting with a letter or digit)`);
      continue;
    }
    const bytes = decodeKey(value);
    if (!bytes) {
      problems.push(`${configPath}.master_keys.${id}: must be 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
      continue;
    }
    const check = createHmac('sha256', bytes).update(CHECK_LABEL).digest().subarray(0, 8).toString('base64url');
    keys.set(id, { id, key: createSecretKey(bytes), check });
    bytes.fill(0);
  }
  if (Object.keys(masterKeys ?? {}).length === 0) problems.push(`${configPath}.master_keys: at least one master key is required`);
  const ids = Object.keys(masterKeys ?? {});
  const active = activeKeyId ?? (ids.length === 1 ? ids[0] : undefined);
  if (active === undefined && ids.length > 1) {
    problems.push(`${configPath}.active_key_id: required when several master keys are configured (one of ${ids.join(', ')})`);
  } else if (active !== undefined && !ids.includes(active)) {
    problems.push(`${configPath}.active_key_id: "${active}" is not one of master_keys (${ids.join(', ') || 'none'})`);
  }
  return { keys, active, problems };
}

/** The configured master keys by id and the one that wraps new data keys. */
export class MasterKeyring {
  private constructor(
    private readonly keys: Map<string, MasterKey>,
    readonly activeKeyId: string,
    /** Where the keys are configured, for error messages. */
    readonly configPath: string,
  ) {}

  /** Validates `master_keys` / `active_key_id`; every problem is reported with its path. */
  static fromConfig(masterKeys: Record<string, unknown>, activeKeyId: string | undefined, configPath: string): MasterKeyring {
    const { keys, active, problems } = readKeys(masterKeys, activeKeyId, configPath);
    if (problems.length) throw new ConfigurationError('Invalid encryption configuration:', problems);
    return new MasterKeyring(keys, active!, configPath);
  }

  /** What fromConfig would refuse, as `path: message` problems (an empty list when it would accept). */
  static problems(masterKeys: Record<string, unknown>, activeKeyId: string | undefined, configPath: string): string[] {
    return readKeys(masterKeys, activeKeyId, configPath).problems;
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  private aad(header: EnvelopeHeader, keyId: string): Buffer {
    return Buffer.concat([WRAP_LABEL, header.raw, Buffer.from(keyId, 'utf8')]);
  }

  /** Seals a data key with the active master key, bound to this object's header. */
  wrap(dataKey: Buffer, header: EnvelopeHeader): StoredEnvelope {
    const master = this.keys.get(this.activeKeyId)!;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', master.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.aad(header, master.id));
    const sealed = Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    return { v: 1, keyId: master.id, wrappedKey: sealed.toString('base64url'), keyCheck: master.check, chunkSize: header.chunkSize };
  }

  /** Opens a data key. A missing or different master key is a key problem; anything else is corruption. */
  unwrap(envelope: StoredEnvelope, header: EnvelopeHeader, objectKey: string): Buffer {
    if (!envelope || envelope.v !== 1 || typeof envelope.keyId !== 'string' || typeof envelope.wrappedKey !== 'string') {
      throw new CorruptionError(`Encryption envelope of ${JSON.stringify(objectKey)} is malformed`);
    }
    const master = this.keys.get(envelope.keyId);
    if (!master) {
      throw new EncryptionKeyUnavailableError(
        `Object ${JSON.stringify(objectKey)} was encrypted under master key "${envelope.keyId}", which is not in ${this.configPath}.master_keys`,
        { details: { keyId: envelope.keyId } },
      );
    }
    if (envelope.keyCheck !== master.check) {
      throw new EncryptionKeyUnavailableError(
        `Master key "${envelope.keyId}" in ${this.configPath}.master_keys is not the key that encrypted ${JSON.stringify(objectKey)}`,
        { details: { keyId: envelope.keyId } },
      );
    }
    const sealed = Buffer.from(envelope.wrappedKey, 'base64url');
    if (sealed.length !== NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES) {
      throw new CorruptionError(`Wrapped data key of ${JSON.stringify(objectKey)} has the wrong length`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', master.key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(this.aad(header, envelope.keyId));
      decipher.setAuthTag(sealed.subarray(NONCE_BYTES + DATA_KEY_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, NONCE_BYTES + DATA_KEY_BYTES)), decipher.final()]);
    } catch (error) {
      throw new CorruptionError(`Wrapped data key of ${JSON.stringify(objectKey)} does not authenticate (envelope or header altered)`, {
        cause: error,
      });
    }
  }
}
