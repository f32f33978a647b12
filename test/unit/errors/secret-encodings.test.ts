/**
 * Secret scrubbing's encodings (src/errors/secrets.ts), each form asserted as the exact text that comes out, so
 * that StrykerJS's mutants of the per-character pattern, the base64 fragment arithmetic and the Bearer / Basic /
 * userinfo patterns change an output here (test/reliability/secret-encodings.test.ts checks the same forms by a
 * looser pattern, together with the CLI, and is not in the mutation test list). Checked by hand against 25 such
 * mutants (each survives test/unit/errors/secrets.test.ts): this file fails with 24 of them; the 25th, hexPattern's
 * `i` flag dropped, is equivalent (`toString(16)` only writes lower-case hex).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clearSecretsForTests, registerSecret, scrubSecrets } from '../../../src/errors/secrets.js';

afterEach(() => clearSecretsForTests());

const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Every character an encoding changes: the JSON and HTML specials, controls, a space and a non-ASCII one. */
const TOKEN = 'ab/c+d="e\\f" g-é&<>\'\n\t\b\f\r9';

describe('scrubSecrets: each character of a secret in each encoding', () => {
  it.each([
    ['literal', TOKEN],
    ['URL-encoded, upper-case hex', encodeURIComponent(TOKEN)],
    [
      'URL-encoded, lower-case hex',
      encodeURIComponent(TOKEN).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    ],
    ['form-encoded (a space as +)', new URLSearchParams({ t: TOKEN }).toString().slice(2)],
    ['JSON-escaped', JSON.stringify(TOKEN).slice(1, -1)],
    ['JSON-escaped with \\/', JSON.stringify(TOKEN).slice(1, -1).replace(/\//g, '\\/')],
    ['JSON \\u escapes, lower-case hex', '\\u0061b\\u002fc'],
    ['JSON \\u escapes, upper-case hex', '\\u0061\\u0062\\u002Fc'],
    ['HTML named entities', 'ab/c+d=&quot;e\\f&quot; g-é&amp;&lt;&gt;&apos;\n\t\b\f\r9'],
    ['HTML decimal entities, zero-padded', '&#97;&#00098;/c+d="e\\f" g-&#233;&<>\'\n\t\b\f\r9'],
    ['HTML hex entities, either case', '&#x61;&#X062;/c+d="e\\f" g-&#xE9;&<>\'\n\t\b\f\r&#x039;'],
  ])('%s', (_, form) => {
    registerSecret(TOKEN);
    registerSecret('ab/c');
    expect(scrubSecrets(`<${form}>`)).toBe('<[redacted]>');
  });

  it('a character in any encoding, mixed within one secret', () => {
    registerSecret('pw:ab/cd');
    expect(scrubSecrets('x pw%3aab\\/c&#100; y pw:ab%2Fcd')).toBe('x [redacted] y [redacted]');
    // A look-alike is not the secret: each alternative matches its own character only.
    expect(scrubSecrets('pw:ab-cd pw;ab/cd pw%3Bab/cd pwAab/cd')).toBe(
      'pw:ab-cd pw;ab/cd pw%3Bab/cd pwAab/cd',
    );
  });

  it('a character up to U+FFFF as a JSON \\u escape (U+FFFF included)', () => {
    registerSecret('abc\uffff');
    expect(scrubSecrets('abc\\uffff abc\\uFFFF')).toBe('[redacted] [redacted]');
  });

  it('a + stands for a space only, and a character above U+FFFF has no \\u form of its own', () => {
    registerSecret('abcd1234');
    registerSecret('\u{1F600}wxyz');
    expect(scrubSecrets('abcd+234 ab+d1234 \\u1f600wxyz \\u1F600wxyz')).toBe(
      'abcd+234 ab+d1234 \\u1f600wxyz \\u1F600wxyz',
    );
  });

  // Fails without the surrogate-pair form in charPattern (the secret came out whole): checked by hand.
  it('a character above U+FFFF as its JSON surrogate-pair escape, either case, as Python json.dumps writes it', () => {
    registerSecret('\u{1F600}wxyz');
    expect(scrubSecrets('<\\ud83d\\ude00wxyz> <\\uD83D\\uDE00wxyz>')).toBe('<[redacted]> <[redacted]>');
    // Half a pair is not the character.
    expect(scrubSecrets('\\ud83dwxyz \\ude00wxyz')).toBe('\\ud83dwxyz \\ude00wxyz');
  });

  it('regular-expression characters in a secret stand for themselves', () => {
    registerSecret('a.b*c?d(e)[f]{g}|h^i$j');
    expect(scrubSecrets('a.b*c?d(e)[f]{g}|h^i$j / aXbbcd(e)[f]{g}|h^i$j')).toBe(
      '[redacted] / aXbbcd(e)[f]{g}|h^i$j',
    );
  });
});

describe('scrubSecrets: base64 of a secret inside a longer base64 text', () => {
  it('at each of the three byte alignments, standard and URL-safe alphabets', () => {
    registerSecret(TOKEN);
    expect(scrubSecrets(`<${base64(TOKEN)}>`)).toBe('<[redacted]>');
    // The characters before and after encode the neighbouring bytes' bits too: they are kept.
    expect(scrubSecrets(`<${base64(`a${TOKEN}`)}>`)).toBe('<YW[redacted]Q==>');
    expect(scrubSecrets(`<${base64(`ab${TOKEN}`)}>`)).toBe('<YWJ[redacted]k=>');
    expect(scrubSecrets(`<${Buffer.from(`ab${TOKEN}`).toString('base64url')}>`)).toBe('<YWJ[redacted]k>');
  });

  it('base64url where the standard alphabet has + and /', () => {
    registerSecret('~~~???~~~???');
    expect(Buffer.from('~~~???~~~???').toString('base64')).toBe('fn5+Pz8/fn5+Pz8/');
    expect(scrubSecrets('fn5+Pz8/fn5+Pz8/ fn5-Pz8_fn5-Pz8_')).toBe('[redacted] [redacted]');
  });

  it('a fragment of 8 characters is masked, a shorter one is not (it would mask unrelated text)', () => {
    // 6 bytes: 8 characters at alignment 0, 7 at the other two.
    registerSecret('abcdef');
    expect(scrubSecrets(base64('abcdef'))).toBe('[redacted]');
    expect(scrubSecrets(base64('xabcdef'))).toBe('eGFiY2RlZg==');
    expect(scrubSecrets(base64('xyabcdef'))).toBe('eHlhYmNkZWY=');
    clearSecretsForTests();
    // 7 bytes: 9, 8 and 9 characters.
    registerSecret('zyxwvu1');
    expect(scrubSecrets(base64('zyxwvu1'))).toBe('[redacted]Q==');
    expect(scrubSecrets(base64('.zyxwvu1'))).toBe('Ln[redacted]E=');
    expect(scrubSecrets(base64('..zyxwvu1'))).toBe('Li5[redacted]');
  });
});

describe('scrubSecrets: credentials it masks unregistered', () => {
  it('a Basic header of 8 or more base64 characters', () => {
    expect(scrubSecrets(`Authorization: Basic ${base64('svc:hunter2-password')}`)).toBe(
      'Authorization: Basic [redacted]',
    );
    expect(scrubSecrets('Basic  Ab+/=_-9 and Basic Ab+/=_- and basic 1234567 and Basic 12345678')).toBe(
      'Basic  [redacted] and Basic Ab+/=_- and basic 1234567 and Basic [redacted]',
    );
  });

  it('the userinfo of a URL, whatever its scheme; a URL without one, or an @ after its path, is left alone', () => {
    expect(
      scrubSecrets(
        'GET http://pqlsync:pw-1234@127.0.0.1:8080/crm; postgres+ssl.v2-x://me@db/x; https://api.hubapi.com/a@b; 9x://u@h; mailto:me@x.test',
      ),
    ).toBe(
      'GET http://[redacted]@127.0.0.1:8080/crm; postgres+ssl.v2-x://[redacted]@db/x; https://api.hubapi.com/a@b; 9x://u@h; mailto:me@x.test',
    );
    expect(scrubSecrets('http://a b@c https://u?x@h "http://q"@r')).toBe(
      'http://a b@c https://u?x@h "http://q"@r',
    );
  });
});
