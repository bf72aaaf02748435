import { startSelfServedApp } from '../support/self-served-app.js';
import { runConformanceSuite } from './suite.js';

const LARGE = 100 * 1024 * 1024;

runConformanceSuite({
  name: 'memory',
  // The memory provider holds its objects in this process by design: the large object itself is
  // allowed on top of the streaming bound, nothing more.
  largeObjectRetainedBytes: LARGE,
  largeObjectBytes: LARGE,
  async setup() {
    const app = await startSelfServedApp({
      storage: {
        defaultProvider: 'memory',
        providers: {
          memory: { type: 'memory', config: { signing_secret: 'conformance-memory-signing-secret', max_total_bytes: 3 * LARGE } },
        },
      },
    });
    return { provider: app.provider('memory'), urlBase: app.url, teardown: () => app.close() };
  },
});
