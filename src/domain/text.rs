//! Hostile text stays text: the rules for what a scenario may name (user ids and names
//! printable, of a sane length) and the one escaping every face applies to what it
//! prints, so that no byte from a file or a store reaches a terminal as a control.

use std::borrow::Cow;

/// The longest user id a scenario may use, in characters.
pub(crate) const USER_ID_CHARACTERS_MAX: usize = 64;
/// The longest name (and title) a scenario may use, in characters.
pub(crate) const NAME_CHARACTERS_MAX: usize = 128;

/// Whether `character` would act on a terminal or reorder text instead of showing:
/// C0 and C1 controls, DEL, and the bidirectional overrides and isolates.
pub(crate) fn is_hostile(character: char) -> bool {
    character.is_control()
        || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(character, '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Why `text` cannot be a user id or a name (`what`), if it cannot: empty, too long, or
/// holding a character that does not print.
pub(crate) fn unprintable_reason(what: &str, text: &str, characters_max: usize) -> Option<String> {
    if text.trim().is_empty() {
        return Some(format!("the {what} is empty"));
    }
    let count = text.chars().count();
    if count > characters_max {
        return Some(format!(
            "the {what} is {count} characters long (at most {characters_max})"
        ));
    }
    text.chars().find(|character| is_hostile(*character)).map(|character| {
        format!(
            "the {what} holds the character {} that does not print (only printable text is allowed)",
            character.escape_unicode()
        )
    })
}

/// `text` with every hostile character written as a visible escape (`\u{1b}`); line
/// breaks are kept when `keep_newlines`, for text that is laid out in lines.
pub fn visible(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let hostile = |character: char| is_hostile(character) && !(keep_newlines && character == '\n');
    if !text.chars().any(hostile) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if hostile(character) {
            escaped.extend(character.escape_unicode());
        } else {
            escaped.push(character);
        }
    }
    Cow::Owned(escaped)
}

/// `count` and the noun that agrees with it: "1 worker", "4 workers".
pub(crate) fn counted(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: every control becomes visible text, and plain text is untouched.
    #[test]
    fn controls_are_escaped_and_plain_text_kept() {
        assert_eq!(visible("alice", false), "alice");
        assert_eq!(visible("a\u{1b}[2Jb", false), "a\\u{1b}[2Jb");
        assert_eq!(visible("one\ntwo", true), "one\ntwo");
        assert_eq!(visible("one\ntwo", false), "one\\u{a}two");
        assert_eq!(visible("x\u{202e}y\u{0}", true), "x\\u{202e}y\\u{0}");
        assert_eq!(visible("\u{9b}31m", true), "\\u{9b}31m");
        assert!(visible("Zoë 🐝", false).chars().all(|c| !is_hostile(c)));
    }

    // Goal: an id or a name is printable and of a sane length, else one reason.
    #[test]
    fn ids_must_be_printable_and_short() {
        assert_eq!(unprintable_reason("user id", "alice", 64), None);
        assert_eq!(
            unprintable_reason("user id", "alice'); DROP TABLE accounts;--", 64),
            None
        );
        assert!(unprintable_reason("user id", "", 64).is_some());
        assert!(unprintable_reason("user id", "  ", 64).is_some());
        assert!(unprintable_reason("user id", &"a".repeat(65), 64).is_some());
        let reason = unprintable_reason("user id", "a\u{1b}[2J", 64).unwrap_or_default();
        assert!(reason.contains("\\u{1b}"), "{reason}");
        assert!(unprintable_reason("name", "new\nline", 128).is_some());
        assert!(unprintable_reason("name", "evil\u{202e}txt", 128).is_some());
    }
}
