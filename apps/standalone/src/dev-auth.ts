import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SigningKeySet } from '@signoff/keys';
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

/**
 * The standalone's signing key (dispatch grants): SIGNOFF_SIGNING_KEY_FILE when set, otherwise
 * one generated on first start and kept (mode 600) in the data directory as `signing-key.json`,
 * like the auth secret; in memory only when there is no data directory.
 */
export function standaloneSigningKeys(dataDir: string | null, configuredFile: string | null, kid: string | null): { keys: SigningKeySet; generated: boolean; file: string | null } {
  if (configuredFile) return { keys: SigningKeySet.fromFile(configuredFile, kid), generated: false, file: configuredFile };
  if (dataDir === null) return { keys: SigningKeySet.generate(), generated: true, file: null };
  const file = path.join(dataDir, 'signing-key.json');
  return { ...SigningKeySet.loadOrCreate(file), file };
}

/** How long the in-process worker's credential lives; it is minted again before it expires. */
const WORKER_TOKEN_TTL_S = 3600;

/** The in-process worker's credential (role `worker`), minted with the auth secret and renewed. */
export function standaloneWorkerToken(secret: string, sub = 'standalone-demo-worker'): () => Promise<string> {
  let token: string | null = null;
  let renewAt = 0;
  return async () => {
    if (token === null || Date.now() >= renewAt) {
      token = await mintToken(secret, { sub, roles: ['worker'] }, WORKER_TOKEN_TTL_S);
      renewAt = Date.now() + (WORKER_TOKEN_TTL_S / 2) * 1000;
    }
    return token;
  };
}
