// @strapi/client (Strapi 5; its README's baseURL ends in `/api`). It has no auth helpers:
// the reset flow goes through client.fetch(), which throws an HTTPError subclass chosen by
// status (HTTPBadRequestError for 400); callers read Strapi's envelope from error.response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strapi, HTTPBadRequestError, HTTPError } from '@strapi/client';
import * as h from './support.mjs';

function client(visitor) {
  return strapi({ baseURL: `${h.RESETD_URL}/api`, headers: visitor.headers });
}

// client.fetch() adds `Content-Type: application/json` only when the Request has none, and a
// Request with a string body already has `text/plain;charset=UTF-8`; the client's own managers
// (collection().create() and friends) therefore name the type themselves, and so does an app.
// Strapi's koa-body would not read a text/plain body as JSON either (resetd answers it 415).
function post(client, path, body) {
  return client.fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function thrown(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call did not fail');
}

test('forgot-password then reset-password through fetch: logged in, new password works', async () => {
  const visitor = h.newVisitor('client-flow');
  await h.createUser(visitor.email);
  const api = client(visitor);
  const since = await h.mailCount();
  const asked = await post(api, '/auth/forgot-password', { email: visitor.email });
  assert.deepEqual(await asked.json(), { ok: true });
  const code = await h.emailedSecret('strapi', visitor.email, since);
  const reset = await post(api, '/auth/reset-password', {
    code,
    password: h.NEW_PASSWORD,
    passwordConfirmation: h.NEW_PASSWORD,
  });
  const { jwt, user } = await reset.json();
  assert.equal(user.email, visitor.email);
  assert.equal((await h.introspect(jwt)).active, true);
  assert.ok(await h.login(visitor.email, h.NEW_PASSWORD));
});

test('a wrong code: HTTPBadRequestError, the envelope says ValidationError', async () => {
  const visitor = h.newVisitor('client-wrong');
  const error = await thrown(
    post(client(visitor), '/auth/reset-password', {
      code: h.madeUpSecret('strapi'),
      password: h.NEW_PASSWORD,
      passwordConfirmation: h.NEW_PASSWORD,
    }),
  );
  assert.ok(error instanceof HTTPBadRequestError, `${error}`);
  assert.equal(error.name, 'HTTPBadRequestError');
  const body = await error.response.json();
  assert.deepEqual(body.error, {
    status: 400,
    name: 'ValidationError',
    message: 'Incorrect code provided',
    details: {},
  });
});

test('a short password: HTTPBadRequestError naming the rule', async () => {
  const visitor = h.newVisitor('client-short');
  await h.createUser(visitor.email);
  const api = client(visitor);
  const since = await h.mailCount();
  await post(api, '/auth/forgot-password', { email: visitor.email });
  const code = await h.emailedSecret('strapi', visitor.email, since);
  const error = await thrown(
    post(api, '/auth/reset-password', { code, password: 'Sh0r!', passwordConfirmation: 'Sh0r!' }),
  );
  assert.ok(error instanceof HTTPBadRequestError, `${error}`);
  const body = await error.response.json();
  assert.equal(body.error.name, 'ValidationError');
  assert.match(body.error.message, /at least \d+ characters/);
});

test('an unknown email: {ok: true}', async () => {
  const visitor = h.newVisitor('client-unknown');
  const asked = await post(client(visitor), '/auth/forgot-password', { email: visitor.email });
  assert.deepEqual(await asked.json(), { ok: true });
});

test('past the per-IP limit: a plain HTTPError (429), the envelope says RateLimitError', async () => {
  const visitor = h.newVisitor('client-limit');
  const api = client(visitor);
  for (let i = 0; i < h.IP_REQUESTS_PER_WINDOW; i += 1) {
    await post(api, '/auth/forgot-password', { email: `${i}-${visitor.email}` });
  }
  const error = await thrown(post(api, '/auth/forgot-password', { email: visitor.email }));
  assert.ok(error instanceof HTTPError);
  assert.equal(error.name, 'HTTPError');
  assert.equal(error.response.status, 429);
  assert.ok(Number(error.response.headers.get('retry-after')) >= 1);
  const body = await error.response.json();
  assert.equal(body.error.name, 'RateLimitError');
});
