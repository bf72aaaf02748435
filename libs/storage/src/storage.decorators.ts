import { Inject } from '@nestjs/common';
import { getStorageProviderToken } from './storage.constants.js';

/** Injects the provider instance configured under `name`. */
export const InjectStorageProvider = (name: string) => Inject(getStorageProviderToken(name));
