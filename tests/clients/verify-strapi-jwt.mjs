// Verifies a token the way a Strapi backend does (run by tests/it/product_ids.rs): the
// users-permissions plugin's services/jwt.js `verify`, `jwt.verify(token, jwtSecret, {}, cb)`
// with the npm `jsonwebtoken` package Strapi 5 depends on. Reads {"token", "secret"} from the
// JSON file named by argv[2] and prints {"payload": ...} when Strapi would accept the token,
// else {"error": {"name", "message"}} (jsonwebtoken's error; Strapi answers it with "Invalid
// token."). The Rust test judges them.
import { readFileSync } from "node:fs";
import jwt from "jsonwebtoken";

const { token, secret } = JSON.parse(readFileSync(process.argv[2], "utf8"));

function verify(token, secret) {
  return new Promise((resolve, reject) => {
    jwt.verify(token, secret, {}, (err, tokenPayload = {}) => {
      if (err) {
        return reject(err);
      }
      resolve(tokenPayload);
    });
  });
}

try {
  console.log(JSON.stringify({ payload: await verify(token, secret) }));
} catch (err) {
  console.log(JSON.stringify({ error: { name: err.name, message: err.message } }));
}
