import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Tokens are 256 random bits; only their SHA-256 is stored, so a database dump holds no usable token. */
export const newToken = () => `kts_${randomBytes(32).toString('base64url')}`;

export const hashToken = (token: string) =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** Constant-time comparison of two tokens (by their hashes, so lengths never differ). */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(hashToken(a), 'hex'), Buffer.from(hashToken(b), 'hex'));
}
