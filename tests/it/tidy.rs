//! The layers of `src/` (ARCHITECTURE.md) are one-way: a module imports only what is below it.
//!
//! Like rust-analyzer's `tidy.rs`: reads every `src/**/*.rs`, collects the `crate::X` paths
//! each top-level module names (comments, doc comments, string literals and `#[cfg(test)]`
//! items left out: tests may reach anywhere), and checks them against [`LAYERS`]. A failure
//! names the file, the line and the upward edge. Self-contained (std only), so it can move
//! into the integration-test binary as a module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, top first. A module may import the modules of the layers below its own, never
/// those of its own layer or above. Within one layer, modules are independent of each other.
const LAYERS: &[(&str, &[&str])] = &[
    ("command line", &["cli"]),
    ("assembly: builds the service and starts it", &["app"]),
    (
        "unpublished routes and the background thread",
        &["routes", "background"],
    ),
    (
        "HTTP handlers: the dialect adapters and the reset pages",
        &["dialects", "pages"],
    ),
    (
        "what the HTTP layer shares: handler state, route table, access log",
        &["server"],
    ),
    ("the reset core", &["reset"]),
    ("mail: templates, transports, the outbox worker", &["mail"]),
    ("webhooks: the signed deliveries' worker", &["webhooks"]),
    (
        "security: hashing, limits, captchas, sealing",
        &["security"],
    ),
    ("the store", &["store"]),
    (
        "the queue-worker driver: claim, lease, run, back off, stop",
        &["worker"],
    ),
    (
        "leaves over the configuration",
        &["logging", "config_reference"],
    ),
    (
        "templates and languages, shared by mail and the reset pages",
        &["templating"],
    ),
    (
        "leaves",
        &["config", "metrics", "clock", "priority", "html"],
    ),
];

/// Edges down the layers that are still refused: the HTTP layer works through the core's
/// types, never the store's (ARCHITECTURE.md: "a dialect never reaches past the core").
const FORBIDDEN: &[(&str, &str)] = &[
    ("dialects", "store"),
    ("pages", "store"),
    ("routes", "store"),
];

/// One `crate::X` reference that the layer table refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    file: PathBuf,
    line: usize,
    from: String,
    to: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}` imports `crate::{}`, which it may not ({})",
            self.file.display(),
            self.line,
            self.from,
            self.to,
            why(&self.from, &self.to)
        )
    }
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn why(from: &str, to: &str) -> String {
    match (layer_of(from), layer_of(to)) {
        (Some(a), Some(b)) if b < a => {
            format!("upward: {:?} is above {:?}", LAYERS[b].0, LAYERS[a].0)
        }
        (Some(a), Some(b)) if a == b => format!("same layer: {:?}", LAYERS[a].0),
        (_, None) => "not in the layer table".to_owned(),
        _ => "forbidden: the HTTP layer goes through the core".to_owned(),
    }
}

/// Whether `from` may name `to`.
fn allowed(from: &str, to: &str) -> bool {
    match (layer_of(from), layer_of(to)) {
        (Some(a), Some(b)) => b > a && !FORBIDDEN.contains(&(from, to)),
        _ => false,
    }
}

/// The top-level module a file under `src/` belongs to (`None`: the crate roots).
fn top_module(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

/// `text` with comments, string and char literals blanked out (newlines kept, so line
/// numbers still hold), and every `#[cfg(test)]` item blanked too.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, b: u8| out.push(if b == b'\n' { b'\n' } else { b' ' });
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                blank(&mut out, bytes[i]);
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, bytes[i]);
                    i += 1;
                }
            }
        } else if let Some(len) = raw_string_len(rest) {
            for &b in &rest[..len] {
                blank(&mut out, b);
            }
            i += len;
        } else if rest[0] == b'"' {
            blank(&mut out, b'"');
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    blank(&mut out, bytes[i]);
                    i += 1;
                }
                blank(&mut out, bytes[i]);
                i += 1;
            }
            if i < bytes.len() {
                blank(&mut out, bytes[i]);
                i += 1;
            }
        } else if let Some(len) = char_literal_len(rest) {
            for &b in &rest[..len] {
                blank(&mut out, b);
            }
            i += len;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let code = String::from_utf8_lossy(&out).into_owned();
    without_test_items(&code)
}

/// The length of a raw string literal (`r"..."`, `r#"..."#`) at the start of `s`.
fn raw_string_len(s: &[u8]) -> Option<usize> {
    let s_start = if s.starts_with(b"br") {
        2
    } else if s.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = s[s_start..].iter().take_while(|&&b| b == b'#').count();
    if s.get(s_start + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = s_start + hashes + 1;
    let end = s[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())?;
    Some(body + end + close.len())
}

/// The length of a char literal at the start of `s` (`'a'`, `'\n'`, `'"'`), not a lifetime.
fn char_literal_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'\'') {
        return None;
    }
    if s.get(1) == Some(&b'\\') {
        let end = s[2..].iter().position(|&b| b == b'\'')?;
        return Some(end + 3);
    }
    let text = std::str::from_utf8(&s[1..s.len().min(6)])
        .unwrap_or_else(|e| std::str::from_utf8(&s[1..1 + e.valid_up_to()]).unwrap_or_default());
    let c = text.chars().next()?;
    (text[c.len_utf8()..].starts_with('\'')).then(|| 2 + c.len_utf8())
}

/// `code` with each `#[cfg(test)]` item (up to its closing brace or semicolon) blanked.
fn without_test_items(code: &str) -> String {
    let mut out: Vec<u8> = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]").map(|p| p + from) {
        let mut i = at + "#[cfg(test)]".len();
        let mut depth = 0usize;
        while i < out.len() {
            match out[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        for b in &mut out[at..i.min(code.len())] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        from = i.min(code.len());
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every `crate::X` a piece of code names, with its line: paths (`crate::a::b`) and groups
/// (`use crate::{a, b::c}`).
fn crate_references(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::").map(|p| p + from) {
        from = at + "crate::".len();
        if at > 0 && (is_ident(bytes[at - 1]) || bytes[at - 1] == b'$') {
            continue;
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first segment of each item of the group, at the group's top level.
            let mut depth = 0usize;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        let name: String = group[k..]
                            .chars()
                            .take_while(|&c| c.is_ascii_alphanumeric() || c == '_')
                            .collect();
                        let item_line = line + group[..k].matches('\n').count();
                        found.push((item_line, name));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|&c| c.is_ascii_alphanumeric() || c == '_')
                .collect();
            if !name.is_empty() {
                found.push((line, name));
            }
        }
    }
    found
}

/// The refused references of one file of `module`.
fn check_file(file: &Path, module: &str, text: &str) -> Vec<Violation> {
    crate_references(&code_only(text))
        .into_iter()
        .filter(|(_, to)| to != module && !allowed(module, to))
        .map(|(line, to)| Violation {
            file: file.to_path_buf(),
            line,
            from: module.to_owned(),
            to,
        })
        .collect()
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Files that only tests compile (`#[cfg(test)] mod name;`), left out like test items.
fn test_only_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut test_only = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let dir = match file.file_stem().and_then(|s| s.to_str()) {
            Some("mod" | "lib" | "main") => file.parent().map(Path::to_path_buf),
            Some(stem) => file.parent().map(|p| p.join(stem)),
            None => None,
        };
        let Some(dir) = dir else { continue };
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if line != "#[cfg(test)]" {
                continue;
            }
            let Some(next) = lines.next() else { break };
            let name = next
                .strip_prefix("mod ")
                .or_else(|| next.strip_prefix("pub mod "))
                .and_then(|rest| rest.strip_suffix(';'));
            if let Some(name) = name {
                test_only.insert(dir.join(format!("{name}.rs")));
                test_only.insert(dir.join(name).join("mod.rs"));
            }
        }
    }
    test_only
}

fn check_tree(src: &Path) -> (Vec<Violation>, usize) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let test_only = test_only_files(&files);
    let mut violations = Vec::new();
    let mut references = 0;
    for file in &files {
        if test_only.contains(file) {
            continue;
        }
        let relative = file.strip_prefix(src).expect("under src");
        let Some(module) = top_module(relative) else {
            continue;
        };
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        references += crate_references(&code_only(&text)).len();
        violations.extend(check_file(relative, &module, &text));
    }
    (violations, references)
}

#[test]
fn src_modules_import_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (violations, references) = check_tree(&src);
    assert!(
        references > 100,
        "only {references} `crate::` references found: is the scan broken?"
    );
    let listed: BTreeSet<&str> = LAYERS.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in &files {
        if let Some(module) = top_module(file.strip_prefix(&src).expect("under src")) {
            assert!(
                listed.contains(module.as_str()),
                "src/{module} is in no layer of tests/tidy.rs: add it to LAYERS"
            );
        }
    }
    let report: Vec<String> = violations.iter().map(|v| format!("src/{v}")).collect();
    assert!(
        violations.is_empty(),
        "{} import(s) against the layers:\n{}",
        violations.len(),
        report.join("\n")
    );
}

#[test]
fn an_upward_import_is_named_with_its_file_and_line() {
    let text = "//! The store.\n\
                use crate::clock::Millis; // crate::app in a comment is no import\n\
                const NOTE: &str = \"crate::app::AppState\";\n\
                use crate::{config::Config,\n    reset::ResetCore};\n\
                fn f() -> crate::server::AppState { todo!() }\n\
                #[cfg(test)]\nmod tests {\n    use crate::app::api_description;\n}\n";
    let violations = check_file(Path::new("store/example.rs"), "store", text);
    let found: Vec<(usize, &str)> = violations.iter().map(|v| (v.line, v.to.as_str())).collect();
    assert_eq!(found, [(5, "reset"), (6, "server")], "{violations:?}");
    let message = violations[0].to_string();
    assert!(
        message.starts_with("store/example.rs:5: `store` imports `crate::reset`")
            && message.contains("upward"),
        "{message}"
    );
}

#[test]
fn a_forbidden_skip_and_a_same_layer_import_fail_too() {
    let skip = check_file(
        Path::new("dialects/x.rs"),
        "dialects",
        "use crate::store::User;\n",
    );
    assert_eq!(skip.len(), 1, "{skip:?}");
    assert!(
        skip[0].to_string().contains("goes through the core"),
        "{}",
        skip[0]
    );
    let sideways = check_file(
        Path::new("pages/x.rs"),
        "pages",
        "use crate::dialects::call;\n",
    );
    assert_eq!(sideways.len(), 1, "{sideways:?}");
    assert!(
        sideways[0].to_string().contains("same layer"),
        "{}",
        sideways[0]
    );
    assert!(check_file(
        Path::new("reset/x.rs"),
        "reset",
        "use crate::store::Store;\n"
    )
    .is_empty());
}
