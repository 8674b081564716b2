// strapi-sdk-js (Strapi 4/5, default prefix `/api`): forgotPassword() and resetPassword()
// through resetd. Its request() throws the answer body as is, so callers read Strapi's
// envelope: `error.error.message`, `error.error.name`, `error.error.status`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Strapi from 'strapi-sdk-js';
import * as h from './support.mjs';

function client(visitor) {
  // The SDK's defaults: prefix `/api`, so it calls /api/auth/forgot-password.
  return new Strapi({ url: h.RESETD_URL, axiosOptions: { headers: visitor.headers } });
}

/** What the SDK throws for an error answer. */
async function thrown(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call did not fail');
}

test('forgotPassword then resetPassword: logged in with a live jwt, new password works', async () => {
  const visitor = h.newVisitor('sdkjs-flow');
  await h.createUser(visitor.email);
  const strapi = client(visitor);
  const since = await h.mailCount();
  assert.deepEqual(await strapi.forgotPassword({ email: visitor.email }), { ok: true });
  const code = await h.emailedSecret('strapi', visitor.email, since);
  const { user, jwt } = await strapi.resetPassword({
    code,
    password: h.NEW_PASSWORD,
    passwordConfirmation: h.NEW_PASSWORD,
  });
  assert.equal(user.email, visitor.email);
  assert.equal((await h.introspect(jwt)).active, true);
  assert.ok(await h.login(visitor.email, h.NEW_PASSWORD));
});

test('a wrong code: ValidationError 400 "Incorrect code provided", as Strapi 5 answers', async () => {
  const visitor = h.newVisitor('sdkjs-wrong');
  const error = await thrown(
    client(visitor).resetPassword({
      code: h.madeUpSecret('strapi'),
      password: h.NEW_PASSWORD,
      passwordConfirmation: h.NEW_PASSWORD,
    }),
  );
  assert.equal(error.data, null);
  assert.deepEqual(error.error, {
    status: 400,
    name: 'ValidationError',
    message: 'Incorrect code provided',
    details: {},
  });
});

test('a used code is refused like a wrong one', async () => {
  const visitor = h.newVisitor('sdkjs-used');
  await h.createUser(visitor.email);
  const strapi = client(visitor);
  const since = await h.mailCount();
  await strapi.forgotPassword({ email: visitor.email });
  const code = await h.emailedSecret('strapi', visitor.email, since);
  const body = { code, password: h.NEW_PASSWORD, passwordConfirmation: h.NEW_PASSWORD };
  await strapi.resetPassword(body);
  const error = await thrown(strapi.resetPassword(body));
  assert.equal(error.error.name, 'ValidationError');
  assert.equal(error.error.message, 'Incorrect code provided');
});

test('a short password: ValidationError naming the rule; the code still works afterwards', async () => {
  const visitor = h.newVisitor('sdkjs-short');
  await h.createUser(visitor.email);
  const strapi = client(visitor);
  const since = await h.mailCount();
  await strapi.forgotPassword({ email: visitor.email });
  const code = await h.emailedSecret('strapi', visitor.email, since);
  const error = await thrown(
    strapi.resetPassword({ code, password: 'Sh0r!', passwordConfirmation: 'Sh0r!' }),
  );
  assert.equal(error.error.status, 400);
  assert.equal(error.error.name, 'ValidationError');
  assert.match(error.error.message, /at least \d+ characters/);
  await strapi.resetPassword({ code, password: h.NEW_PASSWORD, passwordConfirmation: h.NEW_PASSWORD });
});

test('passwords that differ: "Passwords do not match"', async () => {
  const visitor = h.newVisitor('sdkjs-mismatch');
  const error = await thrown(
    client(visitor).resetPassword({
      code: h.madeUpSecret('strapi'),
      password: h.NEW_PASSWORD,
      passwordConfirmation: `${h.NEW_PASSWORD}?`,
    }),
  );
  assert.deepEqual(
    [error.error.status, error.error.name, error.error.message],
    [400, 'ValidationError', 'Passwords do not match'],
  );
});

test('an unknown email: {ok: true}, as recent Strapi answers, and no mail', async () => {
  const visitor = h.newVisitor('sdkjs-unknown');
  assert.deepEqual(await client(visitor).forgotPassword({ email: visitor.email }), { ok: true });
});

test('past the per-IP limit: RateLimitError 429 with Strapi\'s message', async () => {
  const visitor = h.newVisitor('sdkjs-limit');
  const strapi = client(visitor);
  for (let i = 0; i < h.IP_REQUESTS_PER_WINDOW; i += 1) {
    await strapi.forgotPassword({ email: `${i}-${visitor.email}` });
  }
  const error = await thrown(strapi.forgotPassword({ email: visitor.email }));
  assert.deepEqual(error.error, {
    status: 429,
    name: 'RateLimitError',
    message: 'Too many requests, please try again later.',
    details: {},
  });
});
