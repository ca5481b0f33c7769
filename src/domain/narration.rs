//! The narration lint: a step whose narration names a lane states something about that
//! lane (what it answers, holds or breaks), so that step must carry an expectation for it,
//! and `play` then checks the sentence against the real stores. This finds where a
//! narration names a lane; the scenario loader turns a name with no expectation into an
//! error.

use crate::domain::lane::Lane;

/// The words that name a lane in a narration, lowercase. The kebab-case name always names
/// it; "durable" and "outbox" alone are common words ("an outbox message"), so only "the
/// durable lane" style phrases name those two.
fn names_of(lane: Lane) -> &'static [&'static str] {
    match lane {
        Lane::RecordFirst => &["record-first"],
        Lane::ReadReference => &["read-reference"],
        Lane::WriteLastReadFirst => &["write-last-read-first"],
        Lane::Durable => &["durable lane", "durable one"],
        Lane::Outbox => &["outbox lane"],
        Lane::RegeneratedId => &["regenerated-id", "buggy lane"],
        Lane::RecordFirstReadRecord => &["record-first-read-record"],
    }
}

/// Every lane of `lanes` that `text` names, each once, with the byte offset of its first
/// mention in `text`, in the order of `lanes`.
pub(crate) fn lanes_named(text: &str, lanes: &[Lane]) -> Vec<(Lane, usize)> {
    let lowercase = text.to_lowercase();
    // Lowercasing may change byte lengths outside ASCII: then offsets are only a hint, so
    // they are clamped to the text.
    lanes
        .iter()
        .filter_map(|lane| {
            names_of(*lane)
                .iter()
                .filter_map(|name| first_word_match(&lowercase, name))
                .min()
                .map(|offset| (*lane, offset.min(text.len())))
        })
        .collect()
}

/// The first offset where `name` occurs in `text` as whole words: not inside a longer
/// kebab-case name or word ("write-last-read-first" does not name "read-first").
fn first_word_match(text: &str, name: &str) -> Option<usize> {
    let is_word = |character: char| character.is_alphanumeric() || character == '-';
    let mut from = 0;
    while let Some(found) = text[from..].find(name) {
        let start = from + found;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return Some(start);
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_is_named_by_its_kebab_name_in_any_case() {
        let named = lanes_named(
            "Record-first says absent; write-last-read-first is right.",
            &[Lane::RecordFirst, Lane::WriteLastReadFirst, Lane::Durable],
        );
        assert_eq!(
            named,
            vec![(Lane::RecordFirst, 0), (Lane::WriteLastReadFirst, 26)]
        );
    }

    #[test]
    fn common_words_and_longer_names_name_no_lane() {
        let named = lanes_named(
            "An outbox message is durable; write-last-read-first-ish words and re-read-reference.",
            &[Lane::Outbox, Lane::Durable, Lane::ReadReference],
        );
        assert!(named.is_empty(), "{named:?}");
    }

    #[test]
    fn a_phrase_names_the_durable_and_outbox_lanes() {
        let named = lanes_named(
            "The durable lane resumes; the outbox lane waits.",
            &[Lane::Durable, Lane::Outbox],
        );
        assert_eq!(named, vec![(Lane::Durable, 4), (Lane::Outbox, 30)]);
    }

    #[test]
    fn a_lane_not_played_is_not_reported() {
        assert!(lanes_named("record-first", &[Lane::Durable]).is_empty());
    }
}
