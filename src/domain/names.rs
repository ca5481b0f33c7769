//! The kebab-case names of the domain's enums. Each enum derives its names with strum
//! (`serialize_all = "kebab-case"`, the same names serde's `rename_all = "kebab-case"`
//! gives it), so a name is written down once. This file holds what the derive does not: the
//! error of a name that is none of an enum's variants, in words a scenario writer or a
//! command-line user reads.

use std::fmt;

/// Up to this many names read as a sentence ("exists, absent, pending or unknown"); more
/// read as a list ("one of: record-first, read-reference, …").
const SENTENCE_NAME_COUNT_MAX: usize = 4;

/// A name that is none of an enum's variants, and the names that are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct UnknownName {
    /// What the name should have named, in words: "lane", "crash point".
    what: &'static str,
    text: String,
    expected: Vec<&'static str>,
}

impl UnknownName {
    /// `text` is not the name of any variant of `T`, whose variants are named `what`.
    pub(crate) fn of<T>(what: &'static str, text: &str) -> Self
    where
        T: strum::VariantArray + Copy + Into<&'static str>,
    {
        assert!(
            !T::VARIANTS.is_empty(),
            "an enum with no variant names nothing"
        );
        UnknownName {
            what,
            text: text.to_string(),
            expected: T::VARIANTS
                .iter()
                .map(|variant| (*variant).into())
                .collect(),
        }
    }
}

impl fmt::Display for UnknownName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = if self.expected.len() <= SENTENCE_NAME_COUNT_MAX {
            or_list(&self.expected)
        } else {
            format!("one of: {}", self.expected.join(", "))
        };
        write!(
            formatter,
            "unknown {} `{}` (expected {expected})",
            self.what, self.text
        )
    }
}

/// "a", "a or b", "a, b or c".
pub(crate) fn or_list<T: AsRef<str>>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", init.join(", "), last.as_ref())
        }
    }
}

/// Checks a table of an enum's variants and their names: each name is strum's (so
/// `name()` and `Display`) and serde's, and the table lists every variant once, in
/// declaration order.
#[cfg(test)]
pub(crate) fn assert_names<T>(table: &[(T, &str)])
where
    T: strum::VariantArray + Copy + fmt::Debug + PartialEq + Into<&'static str>,
    T: serde::Serialize,
{
    let variants: Vec<T> = table.iter().map(|(variant, _)| *variant).collect();
    assert_eq!(
        variants,
        T::VARIANTS,
        "the table lists every variant, in order"
    );
    for (variant, name) in table {
        let strum_name: &'static str = (*variant).into();
        assert_eq!(strum_name, *name, "{variant:?}");
        let serde_name = serde_json::to_value(variant).expect("serializes");
        assert_eq!(serde_name, serde_json::Value::from(*name), "{variant:?}");
    }
}

/// Checks that every name of the table is the variant's `Display` and parses back to it.
#[cfg(test)]
pub(crate) fn assert_parses<T>(table: &[(T, &str)])
where
    T: Copy + fmt::Debug + fmt::Display + PartialEq + std::str::FromStr,
    T::Err: fmt::Debug,
{
    for (variant, name) in table {
        assert_eq!(variant.to_string(), *name, "{variant:?}");
        let parsed: T = name.parse().expect("parses");
        assert_eq!(parsed, *variant, "{name}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, strum::VariantArray, strum::IntoStaticStr)]
    #[strum(serialize_all = "kebab-case")]
    enum Two {
        FirstOne,
        SecondOne,
    }

    #[derive(Clone, Copy, strum::VariantArray, strum::IntoStaticStr)]
    #[strum(serialize_all = "kebab-case")]
    enum Five {
        A,
        B,
        C,
        D,
        E,
    }

    /// Goal: a short list of names reads as a sentence, a long one as a list, both with
    /// the unknown text quoted. Method: one enum of each length.
    #[test]
    fn short_lists_read_as_a_sentence_and_long_ones_as_a_list() {
        assert_eq!(
            UnknownName::of::<Two>("thing", "third").to_string(),
            "unknown thing `third` (expected first-one or second-one)"
        );
        assert_eq!(
            UnknownName::of::<Five>("letter", "f").to_string(),
            "unknown letter `f` (expected one of: a, b, c, d, e)"
        );
    }

    /// Goal: `or_list` joins any count of items as English does. Method: a table.
    #[test]
    fn or_list_joins_like_a_sentence() {
        let cases: [(&[&str], &str); 4] = [
            (&[], ""),
            (&["a"], "a"),
            (&["a", "b"], "a or b"),
            (&["1", "3", "5"], "1, 3 or 5"),
        ];
        for (items, expected) in cases {
            assert_eq!(or_list(items), expected, "{items:?}");
        }
    }
}
