/**
 * Secret scrubbing (src/errors/secrets.ts) on its own: what is registered, how it is masked, and which
 * environment variables count as credentials. Written against the mutants StrykerJS left alive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  clearSecretsForTests,
  isSecretEnvName,
  registerSecret,
  registerSecretsFromEnv,
  scrubSecrets,
  scrubValue,
} from '../../../src/errors/secrets.js';

afterEach(() => clearSecretsForTests());

describe('scrubSecrets', () => {
  it('masks every occurrence of a registered value, trimmed when registered', () => {
    registerSecret('  hunter2-long  ');
    expect(scrubSecrets('a hunter2-long b hunter2-long c')).toBe('a [redacted] b [redacted] c');
  });

  it('ignores values shorter than 4 characters, and non-strings', () => {
    registerSecret('abc');
    registerSecret(' ab ');
    registerSecret(undefined);
    registerSecret(null);
    expect(scrubSecrets('abc ab')).toBe('abc ab');
    registerSecret('abcd');
    expect(scrubSecrets('abcd')).toBe('[redacted]');
  });

  it('masks the longest secret first, so a secret inside another leaves nothing behind', () => {
    registerSecret('token');
    registerSecret('token-with-suffix');
    expect(scrubSecrets('x token-with-suffix y token')).toBe('x [redacted] y [redacted]');
  });

  it('masks bearer tokens of 8 or more token characters even when not registered', () => {
    expect(scrubSecrets('Authorization: Bearer abc.DEF_123-~+/=')).toBe('Authorization: Bearer [redacted]');
    expect(scrubSecrets('bearer  12345678 and Bearer 1234567')).toBe('bearer  12345678 and Bearer 1234567');
    expect(scrubSecrets('Bearer   spaced-token-123')).toBe('Bearer   [redacted]');
    expect(scrubSecrets('Bearer 12345678 and Bearer 87654321')).toBe(
      'Bearer [redacted] and Bearer [redacted]',
    );
  });

  it('leaves text without secrets unchanged', () => {
    expect(scrubSecrets('nothing to hide')).toBe('nothing to hide');
  });
});

describe('credential environment variables', () => {
  it('names that look like credentials, whatever their case', () => {
    const names = [
      'HUBSPOT_TOKEN',
      'SF_CLIENT_SECRET',
      'PG_PASSWORD',
      'MYSQL_PASSWD',
      'SNOWFLAKE_PRIVATE_KEY',
      'VENDOR_API_KEY',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'access_token',
    ];
    expect(names.filter(isSecretEnvName)).toEqual(names);
    expect(['HOME', 'PATH', 'PQLSYNC_LOG_LEVEL', 'SF_URL'].filter(isSecretEnvName)).toEqual([]);
  });

  it('registers the values of those variables only', () => {
    registerSecretsFromEnv({
      HUBSPOT_TOKEN: 'pat-na1-secret',
      SF_URL: 'https://example.test',
      EMPTY_TOKEN: '',
    });
    expect(scrubSecrets('pat-na1-secret at https://example.test')).toBe('[redacted] at https://example.test');
  });
});

describe('scrubValue', () => {
  it('masks strings inside plain objects and arrays, at any depth, and keeps everything else', () => {
    registerSecret('s3cr3t-value');
    const when = new Date(0);
    const scrubbed = scrubValue({
      msg: 'token s3cr3t-value',
      n: 3,
      ok: true,
      none: null,
      list: ['s3cr3t-value', { deep: ['x s3cr3t-value'] }],
      when,
    });
    expect(scrubbed).toEqual({
      msg: 'token [redacted]',
      n: 3,
      ok: true,
      none: null,
      list: ['[redacted]', { deep: ['x [redacted]'] }],
      when,
    });
    expect(scrubbed.when).toBe(when);
    expect(scrubValue('s3cr3t-value')).toBe('[redacted]');
  });

  it('leaves objects that are not plain (errors, class instances) as they are', () => {
    registerSecret('s3cr3t-value');
    const err = new Error('s3cr3t-value');
    expect(scrubValue(err)).toBe(err);
    expect(err.message).toBe('s3cr3t-value');
  });
});
