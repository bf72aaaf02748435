import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';
import { bearer, signToken } from '../support/tokens.js';
import { body, createUpload, postArtifact, startSecurityServer, type SecurityServer } from './support.js';

/**
 * The access matrix of the reference server: every kind of caller against every action on a
 * board artifact and on a global (board-less) artifact, with the status each must get.
 */

const CLAIMS = {
  editor: { sub: 'alice', tenant: 't1', boards: { b1: 'editor' }, global: 'editor' },
  viewer: { sub: 'bob', tenant: 't1', boards: { b1: 'viewer' } },
  otherBoard: { sub: 'carol', tenant: 't1', boards: { b2: 'editor' } },
  // Every board and global editor rights, but of another tenant: none of it reaches t1.
  otherTenant: { sub: 'dave', tenant: 't2', boards: { b1: 'editor', '*': 'editor' }, global: 'editor' },
};

function tampered(): string {
  // A viewer's real token whose payload is swapped for an editor's: the signature no longer matches.
  const [header, , signature] = signToken(CLAIMS.viewer).split('.');
  const payload = Buffer.from(JSON.stringify({ ...CLAIMS.viewer, boards: { b1: 'editor', '*': 'editor' }, exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

function algNone(): string {
  const [header, payload] = signToken(CLAIMS.editor, { header: { alg: 'none', typ: 'JWT' } }).split('.');
  return `${header}.${payload}.`;
}

const PRINCIPALS: Record<string, Record<string, string>> = {
  editor: bearer(CLAIMS.editor),
  viewer: bearer(CLAIMS.viewer),
  otherBoard: bearer(CLAIMS.otherBoard),
  otherTenant: bearer(CLAIMS.otherTenant),
  noToken: {},
  expired: bearer(CLAIMS.editor, { expiresIn: -60 }),
  algNone: { authorization: `Bearer ${algNone()}` },
  wrongSecret: bearer(CLAIMS.editor, { secret: 'not-the-server-secret-at-all-0123' }),
  tamperedClaims: { authorization: `Bearer ${tampered()}` },
  malformed: { authorization: 'Bearer not-a-token' },
  // The scheme name is case-insensitive: the editor's token under `bearer` is the editor.
  lowercaseScheme: { authorization: `bearer ${signToken(CLAIMS.editor)}` },
  controlCharacterSub: bearer({ ...CLAIMS.editor, sub: 'alice\u0000admin' }),
};

type Scope = 'board' | 'global';
const ACTIONS = ['readRecord', 'readContent', 'downloadUrl', 'create', 'delete', 'uploadCreate', 'uploadComplete', 'listBoard', 'audit'] as const;
type Action = (typeof ACTIONS)[number];
/** Listing is per board: it has no global form. */
const actionsOf = (scope: Scope) => ACTIONS.filter((action) => scope === 'board' || action !== 'listBoard');

const ALLOWED: Record<Action, number> = {
  readRecord: 200,
  readContent: 200,
  downloadUrl: 200,
  create: 201,
  delete: 204,
  uploadCreate: 201,
  uploadComplete: 200,
  listBoard: 200,
  audit: 200,
};
const all = (status: number) => Object.fromEntries(ACTIONS.map((a) => [a, status])) as Record<Action, number>;
const reader = { ...ALLOWED, create: 403, delete: 403, uploadCreate: 403, uploadComplete: 403, audit: 403 };
const hidden = { ...all(404), create: 201, uploadCreate: 201, listBoard: 200 }; // create and list land in their own tenant

const EXPECTED: Record<Scope, Record<string, Record<Action, number>>> = {
  board: {
    editor: ALLOWED,
    viewer: reader,
    otherBoard: all(404),
    otherTenant: hidden,
  },
  global: {
    editor: ALLOWED,
    viewer: reader, // every tenant member reads global artifacts
    otherBoard: reader,
    otherTenant: hidden,
  },
};
EXPECTED.board.lowercaseScheme = ALLOWED;
EXPECTED.global.lowercaseScheme = ALLOWED;
for (const name of ['noToken', 'expired', 'algNone', 'wrongSecret', 'tamperedClaims', 'malformed', 'controlCharacterSub']) {
  EXPECTED.board[name] = all(401);
  EXPECTED.global[name] = all(401);
}

describe('authorization matrix (reference server)', () => {
  let server: SecurityServer;
  let remove: () => Promise<void>;
  const artifacts: Record<Scope, string> = { board: '', global: '' };
  const query = (scope: Scope) => (scope === 'board' ? 'type=test&boardId=b1' : 'type=model');

  async function createAs(scope: Scope, headers = PRINCIPALS.editor) {
    return postArtifact(server, `${scope} artifact bytes`, 'text/plain', { query: query(scope), headers });
  }

  /** A pending direct upload whose bytes have arrived, ready to be completed. */
  async function uploadedBytes(scope: Scope): Promise<string> {
    const bytes = Buffer.from('uploaded bytes');
    const { upload } = await createUpload(server, 'text/plain', bytes.length, PRINCIPALS.editor, scope === 'board' ? 'b1' : null);
    const put = await fetch(upload!.url, { method: upload!.method, headers: upload!.headers, body: body(bytes) });
    expect(put.status).toBe(200);
    return upload!.artifactId;
  }

  const perform: Record<Action, (scope: Scope, headers: Record<string, string>) => Promise<Response>> = {
    readRecord: (scope, headers) => fetch(`${server.url}/artifacts/${artifacts[scope]}`, { headers }),
    readContent: (scope, headers) => fetch(`${server.url}/artifacts/${artifacts[scope]}/content`, { headers }),
    downloadUrl: (scope, headers) => fetch(`${server.url}/artifacts/${artifacts[scope]}/download-url`, { headers }),
    create: (scope, headers) => createAs(scope, headers),
    delete: async (scope, headers) => {
      const fresh = (await (await createAs(scope)).json()).id;
      return fetch(`${server.url}/artifacts/${fresh}`, { method: 'DELETE', headers });
    },
    uploadCreate: (scope, headers) =>
      fetch(`${server.url}/uploads`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'test', ...(scope === 'board' ? { boardId: 'b1' } : {}), contentType: 'text/plain', size: 10 }),
      }),
    uploadComplete: async (scope, headers) => fetch(`${server.url}/uploads/${await uploadedBytes(scope)}/complete`, { method: 'POST', headers }),
    listBoard: (_scope, headers) => fetch(`${server.url}/boards/b1/artifacts`, { headers }),
    audit: (scope, headers) => fetch(`${server.url}/artifacts/${artifacts[scope]}/audit`, { headers }),
  };

  beforeAll(async () => {
    const dir = await tempDir('boards-authz-');
    remove = dir.remove;
    server = await startSecurityServer({ dir: dir.path });
    for (const scope of ['board', 'global'] as const) {
      const created = await createAs(scope);
      expect(created.status).toBe(201);
      artifacts[scope] = (await created.json()).id;
    }
  });
  afterAll(async () => {
    await server?.close();
    await remove?.();
  });

  for (const scope of ['board', 'global'] as const) {
    describe(`${scope} artifact`, () => {
      for (const [principal, expected] of Object.entries(EXPECTED[scope])) {
        it(`${principal}: ${actionsOf(scope).map((a) => `${a} ${expected[a]}`).join(', ')}`, async () => {
          const actual: Partial<Record<Action, number>> = {};
          for (const action of actionsOf(scope)) {
            const response = await perform[action](scope, PRINCIPALS[principal]);
            actual[action] = response.status;
            const text = await response.text();
            if (response.status >= 400) {
              // Refusals carry the API's error shape and never a URL.
              const error = JSON.parse(text);
              expect(error).toMatchObject({ statusCode: response.status });
              expect(typeof error.code).toBe('string');
              expect(text).not.toContain('X-Boards-Signature');
            }
          }
          expect(actual).toEqual(Object.fromEntries(actionsOf(scope).map((a) => [a, expected[a]])));
        });
      }
    });
  }

  it('refused deletes and completions change nothing', async () => {
    const id = (await (await createAs('board')).json()).id;
    for (const principal of ['viewer', 'otherBoard', 'otherTenant', 'noToken', 'tamperedClaims']) {
      await fetch(`${server.url}/artifacts/${id}`, { method: 'DELETE', headers: PRINCIPALS[principal] });
    }
    expect((await fetch(`${server.url}/artifacts/${id}/content`, { headers: PRINCIPALS.editor })).status).toBe(200);
    const pending = await uploadedBytes('board');
    for (const principal of ['viewer', 'otherBoard', 'otherTenant', 'expired']) {
      await fetch(`${server.url}/uploads/${pending}/complete`, { method: 'POST', headers: PRINCIPALS[principal] });
    }
    expect((await server.registry.findById(pending))?.status).toBe('pending');
  });

  it("another tenant's create and list stay in its own tenant", async () => {
    const created = await (await createAs('board', PRINCIPALS.otherTenant)).json();
    expect(created).toMatchObject({ tenant: 't2', boardId: 'b1' });
    const theirs = await (await fetch(`${server.url}/boards/b1/artifacts`, { headers: PRINCIPALS.otherTenant })).json();
    const ours = await (await fetch(`${server.url}/boards/b1/artifacts`, { headers: PRINCIPALS.editor })).json();
    const theirIds = new Set(theirs.items.map((item: { id: string }) => item.id));
    expect(theirIds.has(created.id)).toBe(true);
    expect(theirs.items.every((item: { tenant: string }) => item.tenant === 't2')).toBe(true);
    expect(ours.items.some((item: { id: string }) => theirIds.has(item.id))).toBe(false);
    expect((await fetch(`${server.url}/artifacts/${created.id}`, { headers: PRINCIPALS.editor })).status).toBe(404);
  });

  it('a target named twice or as an object is refused, not widened to global', async () => {
    const twice = await postArtifact(server, 'x', 'text/plain', { query: 'type=test&boardId=b2&boardId=b1', headers: PRINCIPALS.otherBoard });
    expect(twice.status).toBe(400);
    const objectBoard = await fetch(`${server.url}/uploads`, {
      method: 'POST',
      headers: { ...PRINCIPALS.editor, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'test', boardId: { b1: true }, contentType: 'text/plain', size: 1 }),
    });
    expect(objectBoard.status).toBe(400);
  });
});
