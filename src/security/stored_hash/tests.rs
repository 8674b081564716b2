use super::*;

/// Hashes made by the products' own tools (`tests/fixtures/legacy_hashes.py` says which).
const FIXTURES: &str = include_str!("../../../tests/fixtures/legacy_hashes.jsonl");

#[test]
fn every_hash_made_by_the_real_tools_verifies_its_password_only() {
    let mut seen = std::collections::BTreeSet::new();
    for line in FIXTURES.lines() {
        let fixture: serde_json::Value = serde_json::from_str(line).expect("fixture line");
        let (scheme, password, text) = (
            fixture["scheme"].as_str().expect("scheme"),
            fixture["password"].as_str().expect("password"),
            fixture["hash"].as_str().expect("hash"),
        );
        let hash = StoredHash::parse(text).unwrap_or_else(|e| panic!("{scheme}: {e}"));
        let expected_scheme = match scheme {
            "bcrypt_2a" | "bcrypt_2b" | "bcrypt_2y" => "bcrypt",
            other => other,
        };
        assert_eq!(hash.scheme().as_str(), expected_scheme);
        assert!(hash.verify(password), "{scheme}: right password refused");
        assert!(
            !hash.verify("wrong password"),
            "{scheme}: wrong password accepted"
        );
        assert!(!hash.verify(""), "{scheme}: empty password accepted");
        seen.insert(hash.scheme());
    }
    // Every scheme but Django's plain bcrypt (which no product here uses) is covered.
    for &scheme in Scheme::ALL {
        assert!(
            seen.contains(&scheme) || scheme == Scheme::DjangoBcrypt,
            "no fixture for {}",
            scheme.as_str()
        );
    }
}

#[test]
fn bcrypt_reads_the_first_72_bytes_as_bcryptjs_does() {
    let line = FIXTURES
        .lines()
        .find(|l| l.contains("\"bcrypt_2a\"") && l.contains(&"x".repeat(80)))
        .expect("long-password fixture");
    let fixture: serde_json::Value = serde_json::from_str(line).expect("json");
    let hash = StoredHash::parse(fixture["hash"].as_str().expect("hash")).expect("parses");
    assert!(hash.verify(&"x".repeat(72)));
    assert!(hash.verify(&"x".repeat(90)));
    assert!(!hash.verify(&"x".repeat(71)));
}

#[test]
fn malformed_and_unknown_hashes_are_refused_without_quoting_them() {
    let cases = [
        "",
        "plaintext",
        "$2b$10$tooShort",
        "$2x$10$hFxQOypVi7ZGem1C3vk5Q.XwFtFzYdv99bHiV.UkN5Nsmbd18ElIm",
        "$2b$31$hFxQOypVi7ZGem1C3vk5Q.XwFtFzYdv99bHiV.UkN5Nsmbd18ElIm",
        "pbkdf2_sha256$0$salt$AAAA",
        "pbkdf2_sha256$1000$salt$not base64!",
        "pbkdf2_sha256$1000$salt$AAAA",
        "pbkdf2_sha256$99999999999$salt$BowubiVMc0KGRWGzg+JQrNcwzJ6x+37hQ+LJQGUcohY=",
        "pbkdf2_sha256$1000$$BowubiVMc0KGRWGzg+JQrNcwzJ6x+37hQ+LJQGUcohY=",
        "pbkdf2_md5$1000$salt$AAAA",
        "$argon2id$v=19$m=8192,t=1,p=1$rKAL1XZDwjOkEwbQaaeKUA",
        "$argon2id$v=19$m=4194304,t=1,p=1$rKAL1XZDwjOkEwbQaaeKUA$narIRkdcwZciWcAHfNqpHH+QdypcWZ/PmilKZhYMIEA",
        "$argon2d$v=19$m=8192,t=1,p=1$rKAL1XZDwjOkEwbQaaeKUA$narIRkdcwZciWcAHfNqpHH+QdypcWZ/PmilKZhYMIEA",
        "$scrypt$ln=30,r=8,p=1$EmKM0Tqn9L6XklLq3RujlA$iVQabqWpkPoMzzkLJmG+OqAI3UEU2aMoqDG8vs38fvA",
        ":64ec93aaafca65b63aff97f4667e0e34fe5a9d0ffacfbf2321ffae504b9eb8df",
        "salt:64EC93AAAFCA65B63AFF97F4667E0E34FE5A9D0FFACFBF2321FFAE504B9EB8DF",
        "salt:zzzz93aaafca65b63aff97f4667e0e34fe5a9d0ffacfbf2321ffae504b9eb8df",
        "salt:abc",
        "md5:1fbbc06cef58f8f8e6b79d07a71fc328:",
        "md5:1fbbc06cef58:Dd5Vt1XEVfAZsOjY",
        "a:b:c",
    ];
    for text in cases {
        let err = StoredHash::parse(text).expect_err(text);
        let message = err.to_string();
        if text.len() > 8 {
            assert!(!message.contains(text), "{message} quotes the hash");
        }
    }
}

#[test]
fn only_argon2id_with_the_configured_parameters_is_current() {
    let ours = argon2::Params::new(8192, 1, 1, None).expect("params");
    let other = argon2::Params::new(19_456, 2, 1, None).expect("params");
    let argon2id = FIXTURES
        .lines()
        .find(|l| l.contains("\"argon2id\""))
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["hash"].as_str().map(str::to_owned))
        .expect("argon2id fixture");
    let hash = StoredHash::parse(&argon2id).expect("parses");
    assert!(hash.is_current(&ours));
    assert!(!hash.is_current(&other));
    let bcrypt = StoredHash::parse("$2b$10$hFxQOypVi7ZGem1C3vk5Q.XwFtFzYdv99bHiV.UkN5Nsmbd18ElIm")
        .expect("parses");
    assert!(!bcrypt.is_current(&ours));
}

/// The names are an interface: `resetd user list --legacy` and the metrics' labels.
#[test]
fn schemes_keep_their_names() {
    let names: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "argon2id",
            "argon2i",
            "bcrypt",
            "django_bcrypt_sha256",
            "django_bcrypt",
            "django_pbkdf2_sha256",
            "django_pbkdf2_sha1",
            "django_argon2",
            "passlib_pbkdf2_sha256",
            "scrypt",
            "cloudreve_v4",
            "cloudreve_v3",
            "cloudreve_v2",
        ]
    );
}
