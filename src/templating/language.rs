//! The languages emails and reset pages are written in; how an account's `language` tag, a
//! link's `lang` and a browser's `Accept-Language` pick one; and the few values (durations,
//! times) the code words for the templates.

use std::fmt;

use crate::clock::Millis;

/// A language resetd has a full set of mail and page templates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::VariantArray)]
pub enum Language {
    English,
    /// Simplified Chinese.
    ChineseSimplified,
}

impl Language {
    pub const ALL: &'static [Language] = <Language as strum::VariantArray>::VARIANTS;

    /// The language for an account's `language` tag (`en-US`, `zh-CN`, `zh-Hans`, `zh`...),
    /// matched on the primary subtag, case-insensitively; anything else is English.
    ///
    /// Every Chinese tag gets Simplified Chinese, the only Chinese resetd speaks so far: a
    /// reader of Traditional Chinese reads it more easily than English.
    pub fn for_tag(tag: &str) -> Language {
        Language::recognize(tag).unwrap_or(Language::English)
    }

    /// The language a tag names by its primary subtag (`en*`, `zh*`), if resetd has it.
    pub fn recognize(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("zh") {
            Some(Language::ChineseSimplified)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Language::English)
        } else {
            None
        }
    }

    /// The language a browser's `Accept-Language` header prefers among resetd's: its
    /// ranges in order of weight (`q`, 1 when absent; the header's order among equals), the
    /// first one resetd has. `None` when it names none of them (`*` included), and for a
    /// header too long to be a browser's.
    pub fn for_accept_language(header: &str) -> Option<Language> {
        const MAX_HEADER_CHARS: usize = 1_024;
        if header.len() > MAX_HEADER_CHARS {
            return None;
        }
        let mut ranges: Vec<(u16, &str)> = header
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let weight = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1000), weight)?;
                (weight > 0).then_some((weight, tag))
            })
            .collect();
        // Stable: among equal weights the header's order stands.
        ranges.sort_by_key(|&(weight, _)| std::cmp::Reverse(weight));
        ranges
            .into_iter()
            .find_map(|(_, tag)| Language::recognize(tag))
    }

    /// The BCP 47 tag: in template file names and the HTML `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::ChineseSimplified => "zh-CN",
        }
    }

    /// How long a code or link stays valid, in words: `15 minutes`, `1 hour and 30
    /// minutes`, `1 天`.
    pub fn duration(self, secs: u64) -> String {
        const UNITS: [(u64, &str, &str, &str); 4] = [
            (86_400, "day", "days", "天"),
            (3_600, "hour", "hours", "小时"),
            (60, "minute", "minutes", "分钟"),
            (1, "second", "seconds", "秒"),
        ];
        let mut rest = secs;
        let mut parts = Vec::new();
        for (size, one, many, zh) in UNITS {
            let n = rest / size;
            rest %= size;
            if n > 0 {
                parts.push(match self {
                    Language::English if n == 1 => format!("1 {one}"),
                    Language::English => format!("{n} {many}"),
                    Language::ChineseSimplified => format!("{n} {zh}"),
                });
            }
        }
        match (self, parts.as_slice()) {
            (Language::English, []) => "0 seconds".to_owned(),
            (Language::ChineseSimplified, []) => "0 秒".to_owned(),
            (Language::English, [only]) => only.clone(),
            (Language::English, [init @ .., last]) => format!("{} and {last}", init.join(", ")),
            (Language::ChineseSimplified, all) => all.join(" "),
        }
    }

    /// A moment, to the minute, in UTC: the server cannot know the reader's time zone.
    pub fn time(self, at: Millis) -> String {
        match chrono::DateTime::from_timestamp_millis(at) {
            Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            None => match self {
                Language::English => "just now".to_owned(),
                Language::ChineseSimplified => "刚才".to_owned(),
            },
        }
    }
}

/// A `q` value (`0`, `0.8`, `1.000`) in thousandths; `None` when it is not one.
fn weight(q: &str) -> Option<u16> {
    let q = q.trim();
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pick_a_language_by_primary_subtag() {
        for tag in [
            "zh",
            "zh-CN",
            "zh-Hans",
            "zh-Hans-CN",
            "ZH-cn",
            "zh_CN",
            "zh-TW",
            " zh ",
        ] {
            assert_eq!(Language::for_tag(tag), Language::ChineseSimplified, "{tag}");
        }
        for tag in [
            "en", "en-US", "en-GB", "fr-FR", "", "-", "zho", "x-zh", "chinese",
        ] {
            assert_eq!(Language::for_tag(tag), Language::English, "{tag:?}");
        }
    }

    #[test]
    fn only_english_and_chinese_are_recognized() {
        assert_eq!(Language::recognize("en-GB"), Some(Language::English));
        assert_eq!(
            Language::recognize("zh-TW"),
            Some(Language::ChineseSimplified)
        );
        for tag in ["fr", "", "x-zh", "english"] {
            assert_eq!(Language::recognize(tag), None, "{tag:?}");
        }
    }

    #[test]
    fn accept_language_picks_by_weight_then_order() {
        let pick = Language::for_accept_language;
        let zh = Some(Language::ChineseSimplified);
        let en = Some(Language::English);
        assert_eq!(pick("zh-CN,zh;q=0.9,en;q=0.8"), zh);
        assert_eq!(pick("en-US,en;q=0.9,zh-CN;q=0.8"), en);
        assert_eq!(pick("fr-FR, zh-TW;q=0.5, en;q=0.4"), zh);
        assert_eq!(pick("en;q=0.2, zh-Hans;q=0.7"), zh);
        assert_eq!(pick("zh, en"), zh);
        assert_eq!(pick("zh;q=0, en;q=0.1"), en, "q=0 means not this one");
        assert_eq!(pick("zh;q=1.0 , en"), zh);
        for header in [
            "",
            "fr-FR,de;q=0.9",
            "*",
            "zh;q=2",
            "zh;q=0.1234",
            "zh;q=abc",
        ] {
            assert_eq!(pick(header), None, "{header:?}");
        }
        assert_eq!(pick(&format!("{}zh", "x,".repeat(600))), None);
    }

    #[test]
    fn durations_in_words() {
        let en = |s| Language::English.duration(s);
        let zh = |s| Language::ChineseSimplified.duration(s);
        assert_eq!(en(900), "15 minutes");
        assert_eq!(en(3_600), "1 hour");
        assert_eq!(en(7_200), "2 hours");
        assert_eq!(en(5_400), "1 hour and 30 minutes");
        assert_eq!(
            en(86_400 + 3_600 + 60 + 1),
            "1 day, 1 hour, 1 minute and 1 second"
        );
        assert_eq!(en(45), "45 seconds");
        assert_eq!(en(0), "0 seconds");
        assert_eq!(zh(900), "15 分钟");
        assert_eq!(zh(3_600), "1 小时");
        assert_eq!(zh(5_400), "1 小时 30 分钟");
        assert_eq!(zh(2 * 86_400), "2 天");
    }

    #[test]
    fn times_are_utc_to_the_minute() {
        let at = 1_767_225_600_000 + 3_723_000; // 2026-01-01 01:02:03 UTC
        assert_eq!(Language::English.time(at), "2026-01-01 01:02 UTC");
        assert_eq!(Language::ChineseSimplified.time(at), "2026-01-01 01:02 UTC");
        assert_eq!(Language::English.time(i64::MAX), "just now");
    }
}
