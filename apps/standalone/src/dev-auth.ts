import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SigningKeySet } from '@signoff/keys';
import { mintToken, Role } from '@signoff/runtime';

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

/** Lifetime of the printed development tokens: 12 h, within the verifier's limit (AUTH_JWT_MAX_TTL_SECONDS, 24 h by default). */
export const DEV_TOKEN_TTL_SECONDS = 12 * 3600;

/**
 * Ready-to-use development tokens for the three human roles and an auditor, valid under the
 * verifier's rules: `exp` and `iat` set, a lifetime of at most `maxTtlSeconds`, and `iss` / `aud`
 * when the configuration requires them.
 */
export async function devTokens(
  secret: string,
  options: { maxTtlSeconds?: number; issuer?: string | null; audience?: string | null } = {},
): Promise<Record<string, string>> {
  const ttl = Math.min(DEV_TOKEN_TTL_SECONDS, options.maxTtlSeconds ?? DEV_TOKEN_TTL_SECONDS);
  const mint = (sub: string, roles: Role[]) => mintToken(secret, { sub, roles, issuer: options.issuer, audience: options.audience }, ttl);
  return {
    submitter: await mint('dev-agent', ['submitter']),
    reviewer: await mint('dev-reviewer', ['reviewer']),
    reviewer2: await mint('dev-reviewer-2', ['reviewer']),
    admin: await mint('dev-admin', ['admin', 'auditor']),
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
export function standaloneWorkerToken(
  secret: string,
  options: { sub?: string; issuer?: string | null; audience?: string | null } = {},
): () => Promise<string> {
  const sub = options.sub ?? 'standalone-demo-worker';
  let token: string | null = null;
  let renewAt = 0;
  return async () => {
    if (token === null || Date.now() >= renewAt) {
      token = await mintToken(secret, { sub, roles: ['worker'], issuer: options.issuer, audience: options.audience }, WORKER_TOKEN_TTL_S);
      renewAt = Date.now() + (WORKER_TOKEN_TTL_S / 2) * 1000;
    }
    return token;
  };
}
