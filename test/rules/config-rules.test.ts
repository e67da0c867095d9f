import { describe, expect, it } from 'vitest';
import { checkObject } from '../../src/rules';
import { looksLikeSecretName, secretValueReason } from '../../src/rules/secret-patterns';

const cm = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data });

describe('HD030 Secrets with literal data', () => {
  it('flags stringData and data, not an empty Secret', () => {
    const v = checkObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { secret_key: 'x' }, data: { a: 'eA==' } });
    expect(v.map((x) => [x.code, x.path])).toEqual([['HD030', '/data'], ['HD030', '/stringData']]);
    expect(checkObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque' })).toEqual([]);
  });
});

describe('HD031 secrets in ConfigMaps', () => {
  it('flags secret-looking keys, values and assignments in env files', () => {
    expect(checkObject(cm({ DB_PASSWORD: 'x' })).map((v) => v.path)).toEqual(['/data/DB_PASSWORD']);
    expect(checkObject(cm({ url: 'redis://default:pw@cache:6379' }))[0]!.message).toMatch(/URL with a password/);
    expect(checkObject(cm({ 'tls.pem': '-----BEGIN RSA PRIVATE KEY-----\nabc\n' }))[0]!.message).toMatch(/private key/);
    expect(checkObject(cm({ 'app.env': 'LOG_LEVEL=info\nAPI_TOKEN=abc\n' }))[0]!.message).toMatch(/API_TOKEN/);
  });

  it('passes ordinary configuration', () => {
    expect(checkObject(cm({ 'app.env': 'ENVIRONMENT=production\nLOG_LEVEL=info\nMAX_CONNECTIONS=100\n', 'nginx.conf': 'events {}', 'ca.crt': '-----BEGIN CERTIFICATE-----\n' }))).toEqual([]);
  });

  it('escapes JSON pointer characters in keys', () => {
    expect(checkObject(cm({ 'a/secret': 'x' }))[0]!.path).toBe('/data/a~1secret');
  });
});

describe('secret patterns', () => {
  it.each(['DB_PASSWORD', 'password', 'api-key', 'API_KEY', 'secret_key', 'client.secret', 'GITHUB_TOKEN', 'aws_access_key', 'credentials'])('%s is secret', (n) => {
    expect(looksLikeSecretName(n)).toBe(true);
  });
  it.each(['LOG_LEVEL', 'POSTGRES_PASSWORD_FILE', 'TOKEN_PATH', 'DB_SECRET_NAME', 'tokenizer', 'MAX_CONNECTIONS', 'passthrough'])('%s is not', (n) => {
    expect(looksLikeSecretName(n)).toBe(false);
  });
  it('finds secrets in values', () => {
    expect(secretValueReason('-----BEGIN OPENSSH PRIVATE KEY-----')).toBeDefined();
    expect(secretValueReason('-----BEGIN PRIVATE KEY-----')).toBeDefined();
    expect(secretValueReason('https://example.com/path')).toBeUndefined();
    expect(secretValueReason('postgres://postgres:5432/db')).toBeUndefined();
  });
});
