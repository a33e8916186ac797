import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';

/** The tests' MongoDB (see globalSetup.ts); in CI its absence is an error, not a skip. */
export const mongoUrl = (): string | null => {
  const url = inject('mongoUrl');
  if (!url && process.env.CI)
    throw new Error('CI must provide MongoDB (MONGODB_URL or FerretDB)');
  return url;
};

/** The URL of a database of its own, so tests never see each other's documents. */
export const freshDatabaseUrl = (base: string): string => {
  const name = `al-test-${randomUUID().slice(0, 8)}`;
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
};

export const dropDatabase = async (url: string): Promise<void> => {
  const client = new MongoClient(url);
  try {
    await client.connect();
    await client.db().dropDatabase();
  } finally {
    await client.close();
  }
};
