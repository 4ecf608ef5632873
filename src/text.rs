//! Text folding shared by search and filters.
//!
//! SQLite has no `unaccent` and its `LIKE` folds only ASCII case, so Vigía
//! stores a folded copy of searchable text, computed here, and compares folded
//! text on both databases: `apurimac` finds `Apurímac` everywhere.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower case, accents stripped, punctuation folded to single spaces.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// A `LIKE` pattern matching `needle` anywhere, with `\` as the escape
/// character so that `%` and `_` typed by a user match literally.
pub fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A `LIKE` pattern over `' ' || folded text` matching where a word begins
/// with `needle` (folded words are single spaces apart), escaped as
/// [`contains_pattern`].
pub fn word_start_pattern(needle: &str) -> String {
    format!("% {}", &contains_pattern(needle)[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("Apurímac"), "apurimac");
        assert_eq!(fold("  PERÚ -- Ñuñoa, 2022!"), "peru nunoa 2022");
        assert_eq!(
            fold("Tiaparo - Tapayrihua - SPCC (Los Chancas)"),
            "tiaparo tapayrihua spcc los chancas"
        );
        assert_eq!(fold("🔥"), "");
    }

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(word_start_pattern("apur%"), "% apur\\%%");
    }
}
