export * from './url-signer.js';
