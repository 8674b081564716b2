// What every client test needs from the harness (tests/it/real_clients.rs): resetd's URL, a
// way to create accounts (resetd's admin API) and the codes resetd emailed (the harness's
// mailbox, which reads its SMTP sink).
import assert from 'node:assert/strict';

export const RESETD_URL = required('RESETD_URL');
const MAILBOX_URL = required('RESETD_MAILBOX_URL');
const ADMIN_TOKEN = required('RESETD_ADMIN_TOKEN');
/** The harness starts resetd with these per-IP limits. */
export const IP_REQUESTS_PER_WINDOW = Number(required('RESETD_IP_REQUESTS_PER_WINDOW'));
export const IP_FAILURES_PER_WINDOW = Number(required('RESETD_IP_FAILURES_PER_WINDOW'));

/** The length of each dialect's emailed secret. */
export const SECRET_LENGTH = { strapi: 128, selfcommunity: 34 };

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this suite through \`cargo test --test it real_clients\``);
  }
  return value;
}

let counter = 0;

/**
 * A fresh browser identity: an email no other test uses and a client IP of its own. resetd
 * trusts the harness's loopback address as a proxy, so `X-Forwarded-For` names the client
 * and each test gets its own rate-limit budget.
 *
 * `node --test` runs each file in a process of its own, each with its own `counter`, all
 * within one rate-limit window: the address must tell the processes apart too. With only
 * `pid % 250` in it, two files whose pids met modulo 250 shared their budgets, and one was
 * refused (a CI run saw Strapi's `forgotPassword` answered 429). resetd counts an IPv6
 * client by its /64, so the /64 carries the whole pid (22 bits at most on Linux) and the
 * counter (10 bits).
 */
export function newVisitor(label) {
  counter += 1;
  assert.ok(counter < 1024, 'the counter fits its 10 bits');
  const tag = `${label}-${process.pid}-${counter}`;
  const high = (process.pid >>> 6) & 0xffff;
  const low = ((process.pid & 0x3f) << 10) | counter;
  return {
    email: `${tag}@example.com`,
    headers: { 'X-Forwarded-For': `2001:db8:${high.toString(16)}:${low.toString(16)}::1` },
  };
}

export async function createUser(email, password = 'Old-passw0rd-1') {
  const answer = await fetch(`${RESETD_URL}/admin/users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, status: 'active' }),
  });
  // One read of the body: a Response's body can be consumed only once.
  const text = await answer.text();
  assert.equal(answer.status, 201, text);
  return JSON.parse(text);
}

/** How many mails the sink has received so far. */
export async function mailCount() {
  const answer = await fetch(`${MAILBOX_URL}/count`);
  assert.equal(answer.status, 200);
  return Number(await answer.text());
}

/** The secret of the first reset mail to `email` after the first `since` mails (waits for it). */
export async function emailedSecret(dialect, email, since) {
  const query = new URLSearchParams({ to: email, len: String(SECRET_LENGTH[dialect]), since: String(since) });
  const answer = await fetch(`${MAILBOX_URL}/secret?${query}`);
  const text = await answer.text();
  assert.equal(answer.status, 200, text);
  return text;
}

/** Whether `token` is a live resetd access token (RFC 7662 introspection). */
export async function introspect(token) {
  const answer = await fetch(`${RESETD_URL}/v1/introspect`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${required('RESETD_INTROSPECTION_TOKEN')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  assert.equal(answer.status, 200);
  return answer.json();
}

/** Logs in through resetd's own API; the access token, or null for a refusal. */
export async function login(email, password) {
  const answer = await fetch(`${RESETD_URL}/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return answer.status === 200 ? (await answer.json()).access_token : null;
}

/** A well-formed secret resetd never issued. */
export function madeUpSecret(dialect) {
  return 'ab'.repeat(SECRET_LENGTH[dialect]).slice(0, SECRET_LENGTH[dialect]);
}

/** The password every successful reset sets. */
export const NEW_PASSWORD = 'N3w-Passw0rd!x';
