import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** PostgreSQL of the machine (SERVERS.md): trust auth on 127.0.0.1:5432. */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates a throwaway PostgreSQL database; returns its URL and a drop function. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `boards_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The database kinds the registry tests run on. */
export const DATABASE_KINDS = ['sqlite', 'postgres'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

/** A DATABASE_URL for a kind: a temp SQLite file or a fresh PostgreSQL database. */
export async function databaseUrlFor(kind: DatabaseKind, dir: string): Promise<{ url: string; drop: () => Promise<void> }> {
  if (kind === 'postgres') return createPgDatabase();
  return { url: `sqlite:${dir}/registry-${randomBytes(4).toString('hex')}.sqlite`, drop: async () => {} };
}
