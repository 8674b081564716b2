//! Escaping text for HTML, shared by the emails' templates and the reset pages.

/// `raw` with `& < > " '` escaped: safe as element text and in quoted attribute values.
/// Nothing else is touched, so links and non-ASCII text stay readable in the source.
pub fn escape(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_the_five_and_nothing_else() {
        assert_eq!(
            super::escape(r#"<a href="x?a=1&b='2'">é</a>"#),
            "&lt;a href=&quot;x?a=1&amp;b=&#39;2&#39;&quot;&gt;é&lt;/a&gt;"
        );
    }
}
