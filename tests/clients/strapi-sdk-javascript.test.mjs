// strapi-sdk-javascript (Strapi 3 era; the base URL is given whole, here resetd's root, so it
// calls the seed's /auth/... paths). Its request() throws `new Error(response.data.message)`:
// the seed's top-level `message` is what its callers see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import StrapiModule from 'strapi-sdk-javascript';
import * as h from './support.mjs';

const Strapi = StrapiModule.default ?? StrapiModule;

function client(visitor) {
  return new Strapi(h.RESETD_URL, undefined, { headers: visitor.headers });
}

async function thrown(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call did not fail');
}

test('forgotPassword (with its `url` field) then resetPassword: the new password works', async () => {
  const visitor = h.newVisitor('sdkjavascript-flow');
  await h.createUser(visitor.email);
  const strapi = client(visitor);
  const since = await h.mailCount();
  // The SDK sends `{email, url}`; resetd ignores `url` (its link base is configured).
  assert.equal(await strapi.forgotPassword(visitor.email, 'https://app.example.com/reset'), undefined);
  const code = await h.emailedSecret('strapi', visitor.email, since);
  assert.equal(await strapi.resetPassword(code, h.NEW_PASSWORD, h.NEW_PASSWORD), undefined);
  assert.ok(await h.login(visitor.email, h.NEW_PASSWORD));
});

test('a wrong code: an Error with "Incorrect code provided"', async () => {
  const visitor = h.newVisitor('sdkjavascript-wrong');
  const error = await thrown(
    client(visitor).resetPassword(h.madeUpSecret('strapi'), h.NEW_PASSWORD, h.NEW_PASSWORD),
  );
  assert.ok(error instanceof Error);
  assert.equal(error.message, 'Incorrect code provided');
});

test('a short password: an Error naming the rule', async () => {
  const visitor = h.newVisitor('sdkjavascript-short');
  await h.createUser(visitor.email);
  const strapi = client(visitor);
  const since = await h.mailCount();
  await strapi.forgotPassword(visitor.email);
  const code = await h.emailedSecret('strapi', visitor.email, since);
  const error = await thrown(strapi.resetPassword(code, 'Sh0r!', 'Sh0r!'));
  assert.match(error.message, /^password must be at least \d+ characters$/);
});

test('an unknown email: resolves, as for a known one', async () => {
  const visitor = h.newVisitor('sdkjavascript-unknown');
  assert.equal(await client(visitor).forgotPassword(visitor.email), undefined);
});

test('past the per-IP limit: an Error with the rate limiter\'s message', async () => {
  const visitor = h.newVisitor('sdkjavascript-limit');
  const strapi = client(visitor);
  for (let i = 0; i < h.IP_REQUESTS_PER_WINDOW; i += 1) {
    await strapi.forgotPassword(`${i}-${visitor.email}`);
  }
  const error = await thrown(strapi.forgotPassword(visitor.email));
  assert.equal(error.message, 'Too many requests, please try again later.');
});
