"""Checks password hashes the way each product checks them (run by tests/it/webhooks.rs).

Reads a JSON file named by argv[1], a list of {"format", "password", "hash"} items, and prints
a JSON list with, per item, "format", "right" (the password verifies) and "wrong" (the
password with one more character verifies); for Django also "must_update" (Django's
check_password would rehash it at the next login: not at Django's current algorithm and
iterations). The Rust test judges them.

- bcrypt: Python's bcrypt.checkpw (Strapi's hashes are bcryptjs's, the same $2a$ format).
- django_pbkdf2_sha256: Django's own django.contrib.auth.hashers.check_password, with
  Django's default PASSWORD_HASHERS.
- cloudreve_v4: Cloudreve v4's CheckPassword (inventory/user.go) on the form its
  digestPassword writes, SALT:HEX with HEX = hex(sha256(password + SALT)). CheckPassword also
  reads its v3 (sha1, a digest that is not 64 characters) and v2 (md5:...) hashes; those are
  not the v4 format, so here they do not verify.
"""
import hashlib
import hmac
import json
import sys

import bcrypt
from django.conf import settings

# No PASSWORD_HASHERS: Django's defaults (global_settings), PBKDF2PasswordHasher first.
settings.configure()

from django.contrib.auth.hashers import check_password  # noqa: E402


def check_bcrypt(password, encoded):
    return {"ok": bcrypt.checkpw(password.encode(), encoded.encode())}


def check_django(password, encoded):
    rehashed = []
    ok = check_password(password, encoded, setter=rehashed.append)
    return {"ok": ok, "must_update": bool(rehashed)}


def check_cloudreve(password, encoded):
    parts = encoded.split(":")
    if len(parts) != 2:
        return {"ok": False}
    salt, digest = parts
    if len(digest) != 64:
        return {"ok": False}
    computed = hashlib.sha256((password + salt).encode()).hexdigest()
    return {"ok": hmac.compare_digest(computed, digest)}


CHECKS = {
    "bcrypt": check_bcrypt,
    "django_pbkdf2_sha256": check_django,
    "cloudreve_v4": check_cloudreve,
}


def verify(item):
    check = CHECKS.get(item["format"])
    if check is None:
        sys.exit(f"no verifier for {item['format']}")
    right = check(item["password"], item["hash"])
    wrong = check(item["password"] + "x", item["hash"])
    result = {"format": item["format"], "right": right["ok"], "wrong": wrong["ok"]}
    if "must_update" in right:
        result["must_update"] = right["must_update"]
    return result


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        items = json.load(f)
    print(json.dumps([verify(item) for item in items]))


if __name__ == "__main__":
    main()
