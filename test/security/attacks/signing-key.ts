/** A P-256 key pair made for this run (no key is committed), shared by the signature-policy attacks of both faces. */
import * as crypto from 'node:crypto';

export const SIGNING_KEY_PAIR = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const SIGNING_PUBLIC_KEY = SIGNING_KEY_PAIR.publicKey.export({ type: 'spki', format: 'pem' }).toString();
export const SIGNING_PRIVATE_KEY_PKCS8 = SIGNING_KEY_PAIR.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
