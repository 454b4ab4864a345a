import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { mintToken } from '@signoff/runtime';

/**
 * The standalone's auth secret: AUTH_JWT_SECRET when set, otherwise one generated on first start
 * and kept (mode 600) in the data directory, so tokens stay valid across restarts.
 */
export function standaloneSecret(dataDir: string | null, configured: string | null): { secret: string; generated: boolean; file: string | null } {
  if (configured) return { secret: configured, generated: false, file: null };
  if (dataDir === null) return { secret: randomBytes(32).toString('base64url'), generated: true, file: null };
  const file = path.join(dataDir, 'auth-secret');
  if (fs.existsSync(file)) return { secret: fs.readFileSync(file, 'utf8').trim(), generated: false, file };
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  fs.writeFileSync(file, secret + '\n', { mode: 0o600 });
  return { secret, generated: true, file };
}

/** Ready-to-use development tokens (12 h) for the three human roles and an auditor. */
export async function devTokens(secret: string): Promise<Record<string, string>> {
  return {
    submitter: await mintToken(secret, { sub: 'dev-agent', roles: ['submitter'] }),
    reviewer: await mintToken(secret, { sub: 'dev-reviewer', roles: ['reviewer'] }),
    reviewer2: await mintToken(secret, { sub: 'dev-reviewer-2', roles: ['reviewer'] }),
    admin: await mintToken(secret, { sub: 'dev-admin', roles: ['admin', 'auditor'] }),
  };
}
