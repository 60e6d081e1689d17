//! "Did you mean …?": the known word nearest to a misspelling, for every error that names an
//! unknown key, kind, module or capability.

/// The known name closest to a misspelling, if one is close enough to suggest.
pub(crate) fn closest<'a>(wrong: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(wrong, k), *k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}
