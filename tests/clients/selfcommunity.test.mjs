// @selfcommunity/api-services: the account recovery calls of its AccountService, as its
// reset screen (@selfcommunity/react-ui AccountReset) makes them, and what that screen shows:
// formatHttpErrorCode(error) gives `{validationCodeError: {error}}` for a bad code (the
// screen's "invalid code" message) and `{passwordError: {error: <code>}}` for a rejected
// password (the screen's `ui.accountReset.password.error.<code>` message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as h from './support.mjs';

// The package's ESM build only resolves under a bundler (directory imports); node loads its
// CommonJS build, which needs `tslib` beside it (declared in package.json here).
const { http, AccountService, formatHttpErrorCode, formatHttpError } = createRequire(import.meta.url)(
  '@selfcommunity/api-services',
);

http.setBasePortal(h.RESETD_URL);

async function thrown(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call did not fail');
}

async function recoveredCode(visitor) {
  await h.createUser(visitor.email);
  const since = await h.mailCount();
  // 204, no body: the SDK resolves with the empty data.
  assert.equal(await AccountService.recover({ email: visitor.email }, { headers: visitor.headers }), '');
  return h.emailedSecret('selfcommunity', visitor.email, since);
}

test('recover, verify the validation code, reset: a live token, the new password works', async () => {
  const visitor = h.newVisitor('sc-flow');
  const code = await recoveredCode(visitor);
  const config = { headers: visitor.headers };
  assert.equal(await AccountService.verifyValidationCode({ validation_code: code }, config), '');
  const { token } = await AccountService.reset({ validation_code: code, password: h.NEW_PASSWORD }, config);
  assert.equal(token.token_type, 'Bearer');
  assert.equal((await h.introspect(token.access_token)).active, true);
  assert.ok(await h.login(visitor.email, h.NEW_PASSWORD));
  // Used: the check now says so, as the screen needs before showing its form.
  const error = await thrown(AccountService.verifyValidationCode({ validation_code: code }, config));
  assert.deepEqual(formatHttpErrorCode(error), { validationCodeError: { error: 'invalid_code' } });
});

test('a wrong code: the screen\'s validation-code error', async () => {
  const visitor = h.newVisitor('sc-wrong');
  const config = { headers: visitor.headers };
  const error = await thrown(
    AccountService.reset({ validation_code: h.madeUpSecret('selfcommunity'), password: h.NEW_PASSWORD }, config),
  );
  assert.equal(error.response.status, 400);
  assert.deepEqual(formatHttpErrorCode(error), { validationCodeError: { error: 'invalid_code' } });
  assert.deepEqual(formatHttpError(error), {
    validationCodeError: { error: 'Invalid or expired validation code.' },
  });
  const checked = await thrown(
    AccountService.verifyValidationCode({ validation_code: h.madeUpSecret('selfcommunity') }, config),
  );
  assert.deepEqual(formatHttpErrorCode(checked), { validationCodeError: { error: 'invalid_code' } });
});

test('a short password: the password-rule code on the password field, the code still works', async () => {
  const visitor = h.newVisitor('sc-short');
  const code = await recoveredCode(visitor);
  const config = { headers: visitor.headers };
  const error = await thrown(AccountService.reset({ validation_code: code, password: 'Sh0rt!' }, config));
  assert.deepEqual(formatHttpErrorCode(error), { passwordError: { error: 'password_too_short' } });
  assert.equal(error.response.data.code, 'password_too_weak');
  await AccountService.reset({ validation_code: code, password: h.NEW_PASSWORD }, config);
});

test('a password missing character classes: password_too_weak on the password field', async () => {
  const visitor = h.newVisitor('sc-weak');
  const code = await recoveredCode(visitor);
  const error = await thrown(
    AccountService.reset({ validation_code: code, password: 'alllowercase' }, { headers: visitor.headers }),
  );
  assert.deepEqual(formatHttpErrorCode(error), { passwordError: { error: 'password_too_weak' } });
});

test('an unknown email: 204 as for a known one', async () => {
  const visitor = h.newVisitor('sc-unknown');
  assert.equal(await AccountService.recover({ email: visitor.email }, { headers: visitor.headers }), '');
});

test('past the per-IP limit: 429, `throttled` as the request\'s error', async () => {
  const visitor = h.newVisitor('sc-limit');
  const config = { headers: visitor.headers };
  for (let i = 0; i < h.IP_REQUESTS_PER_WINDOW; i += 1) {
    await AccountService.recover({ email: `${i}-${visitor.email}` }, config);
  }
  const error = await thrown(AccountService.recover({ email: visitor.email }, config));
  assert.equal(error.response.status, 429);
  assert.ok(Number(error.response.headers['retry-after']) >= 1);
  assert.deepEqual(formatHttpErrorCode(error), { error: 'throttled' });
});

test('too many wrong validation codes: the check is throttled too', async () => {
  const visitor = h.newVisitor('sc-guess');
  const config = { headers: visitor.headers };
  for (let i = 0; i < h.IP_FAILURES_PER_WINDOW; i += 1) {
    await thrown(AccountService.verifyValidationCode({ validation_code: h.madeUpSecret('selfcommunity') }, config));
  }
  const error = await thrown(
    AccountService.verifyValidationCode({ validation_code: h.madeUpSecret('selfcommunity') }, config),
  );
  assert.equal(error.response.status, 429);
  assert.deepEqual(formatHttpErrorCode(error), { error: 'throttled' });
});
