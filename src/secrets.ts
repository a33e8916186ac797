import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceToken } from './config.js';

/** Secrets generated for development, kept in the data directory (mode 0600). */
export interface DevelopmentSecrets {
  file: string;
  serviceToken: ServiceToken;
  sessionSecret: string;
  tokenEncryptionKey: string;
}

const secret = (): string => randomBytes(32).toString('base64url');

export const loadOrCreateDevelopmentSecrets = (dataDir: string): DevelopmentSecrets => {
  const file = join(dataDir, 'secrets.json');
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Omit<
      DevelopmentSecrets,
      'file'
    >;
    return { ...stored, file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const created = {
    serviceToken: {
      name: 'dev',
      secret: secret(),
      scopes: ['commands', 'queries', 'audit', 'tokens'],
    } satisfies ServiceToken,
    sessionSecret: secret(),
    tokenEncryptionKey: randomBytes(32).toString('base64'),
  };
  writeFileSync(file, JSON.stringify(created, null, 2), { mode: 0o600, flag: 'wx' });
  return { ...created, file };
};
