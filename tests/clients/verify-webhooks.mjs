// Checks what resetd delivered with the products' own libraries (run by tests/it/webhooks.rs):
// each delivery's signature with the `standardwebhooks` package, under each secret alone (a
// rotation), a wrong secret, a tampered body and a stale timestamp; and the bcrypt and
// Cloudreve password hashes the way their products check them (Django's with Django's own
// check_password, in tests/python). Reads a JSON file named by argv[2], prints the results
// as JSON; the Rust test judges them.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import { Webhook } from "standardwebhooks";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));

function verifies(secret, body, headers) {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

function signatures(delivery) {
  const headers = {
    "webhook-id": delivery.id,
    "webhook-timestamp": delivery.timestamp,
    "webhook-signature": delivery.signature,
  };
  const each = input.secrets.map((secret) => verifies(secret, delivery.body, headers));
  const wrong = verifies(input.wrong_secret, delivery.body, headers);
  const tampered = verifies(input.secrets[0], delivery.body.replace("@", "+@"), headers);
  const realNow = Date.now;
  Date.now = () => realNow() + 10 * 60 * 1000;
  const stale = verifies(input.secrets[0], delivery.body, headers);
  Date.now = realNow;
  return { each, wrong, tampered, stale };
}

// Cloudreve v4's CheckPassword: SALT:HEX(sha256(password + SALT)).
function cloudreve(password, encoded) {
  const [salt, digest] = encoded.split(":");
  return createHash("sha256").update(password + salt).digest("hex") === digest;
}

function checks(format, password, hash) {
  switch (format) {
    case "bcrypt":
      return bcrypt.compareSync(password, hash);
    case "cloudreve_v4":
      return cloudreve(password, hash);
    default:
      throw new Error(`no verifier for ${format}`);
  }
}

const hashes = input.hashes.map(({ format, password, hash }) => ({
  format,
  right: checks(format, password, hash),
  wrong: checks(format, password + "x", hash),
}));

console.log(JSON.stringify({ signatures: input.deliveries.map(signatures), hashes }));
