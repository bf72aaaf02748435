import { BUILT_IN_PROVIDER_TYPES } from '@app/storage';
import { startS3rver } from '../support/s3rver.js';
import { startSelfServedApp } from '../support/self-served-app.js';
import { runConformanceSuite } from './suite.js';

// s3rver speaks the S3 wire protocol but does not enforce everything S3 does. Each gap is named
// here and skipped visibly; where the provider's side can be checked without the server (the
// signed headers of a presigned URL, the If-None-Match header), s3.provider.spec.ts checks the
// request the provider sends.
const S3RVER = 's3rver 3.7.1';

runConformanceSuite({
  name: 's3',
  backendLimitations: {
    createOnly: `${S3RVER} ignores If-None-Match: * and overwrites (the header the provider sends is checked in s3.provider.spec.ts)`,
    presignEnforcesSignature: `${S3RVER} does not verify SigV4 signatures of presigned URLs: tampered, re-targeted and method-swapped URLs are served`,
    presignUploadEnforcesContentType: `${S3RVER} does not verify POST policies or signed headers (s3.provider.spec.ts checks that content-type is signed and in the policy)`,
    presignUploadEnforcesMaxSize: `${S3RVER} ignores POST policy conditions such as content-length-range (the policy is checked in s3.provider.spec.ts)`,
    suffixRange: `${S3RVER} answers bytes=-N with bytes 0-N (the provider refuses such an answer rather than return other bytes)`,
    singleByteRange: `${S3RVER} answers bytes=0-0 with the whole object (the provider refuses such an answer)`,
  },
  keyLimitations: {
    'long name': `${S3RVER} stores an object as a file named after its key plus a suffix, so a 240-byte segment overflows the filesystem's 255-byte name limit and the server crashes (S3 allows 1024-byte keys)`,
    'copy:plus': `${S3RVER} decodes x-amz-copy-source with decodeURI, which leaves %2B encoded; S3 itself needs '+' percent-encoded there`,
    'copy:equals': `${S3RVER} decodes x-amz-copy-source with decodeURI, which leaves %3D, %26 and %3B encoded`,
    'copy:punctuation': `${S3RVER} decodes x-amz-copy-source with decodeURI, which leaves %24, %2C and %40 encoded`,
  },
  async setup() {
    const s3rver = await startS3rver(['conformance']);
    const config = {
      bucket: 'conformance',
      region: s3rver.region,
      endpoint: s3rver.endpoint,
      force_path_style: true,
      access_key_id: s3rver.credentials.accessKeyId,
      secret_access_key: s3rver.credentials.secretAccessKey,
      checksum_mode: 'when_required',
    };
    // Through the module, as an application configures it: the built-in type loads on demand.
    const app = await startSelfServedApp({ storage: { defaultProvider: 's3', providers: { s3: { type: 's3', config } } } });
    return {
      provider: app.provider('s3'),
      async unreachable() {
        const S3StorageProvider = await BUILT_IN_PROVIDER_TYPES.s3.load();
        const down = new S3StorageProvider();
        // Port 1 refuses connections at once.
        await down.initialize({ name: 's3-down', config: { ...config, endpoint: 'http://127.0.0.1:1' } as never });
        return down;
      },
      async teardown() {
        await app.close();
        await s3rver.stop();
      },
    };
  },
});
