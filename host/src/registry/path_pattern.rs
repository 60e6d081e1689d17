//! An endpoint's full path as a pattern, read as Go's `ServeMux` (which Wippy routes through)
//! reads it: `{name}` is one non-empty segment, a last `{name...}` the rest of the path, and a
//! path ending in `/` everything below it. The registry uses it to refuse endpoints that
//! conflict; the server to match requests.

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Param(String),
    /// The rest of the path (at least one segment, possibly empty), named or not (a pattern
    /// ending in `/`).
    Rest(Option<String>),
}

impl Segment {
    /// How specific a segment is: at the first segment where two matching patterns differ,
    /// the higher one wins.
    pub fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 2,
            Segment::Param(_) => 1,
            Segment::Rest(_) => 0,
        }
    }
}

/// The segments after the leading `/` (checked paths only: see `kinds::http`).
pub fn parse(pattern: &str) -> Vec<Segment> {
    let parts: Vec<&str> = pattern
        .strip_prefix('/')
        .unwrap_or(pattern)
        .split('/')
        .collect();
    let last = parts.len() - 1;
    (parts.iter().enumerate())
        .map(
            |(i, part)| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix("...") {
                    Some(rest) => Segment::Rest(Some(rest.to_string())),
                    None => Segment::Param(name.to_string()),
                },
                None if part.is_empty() && i == last => Segment::Rest(None),
                None => Segment::Literal(part.to_string()),
            },
        )
        .collect()
}

/// Whether two patterns (of one method) match some request alike with neither more specific
/// than the other — what Wippy's router and Go's `ServeMux` refuse.
pub fn ambiguous(a: &[Segment], b: &[Segment]) -> bool {
    let mut a_more_specific = false;
    let mut b_more_specific = false;
    let mut i = 0;
    loop {
        match (a.get(i), b.get(i)) {
            (None, None) => break,
            (Some(Segment::Rest(_)), Some(Segment::Rest(_))) => break,
            // A rest needs at least one more segment: a shorter pattern never overlaps it.
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(Segment::Rest(_)), Some(_)) => {
                b_more_specific = true;
                break;
            }
            (Some(_), Some(Segment::Rest(_))) => {
                a_more_specific = true;
                break;
            }
            (Some(Segment::Literal(x)), Some(Segment::Literal(y))) if x != y => return false,
            (Some(x), Some(y)) => match x.rank().cmp(&y.rank()) {
                std::cmp::Ordering::Greater => a_more_specific = true,
                std::cmp::Ordering::Less => b_more_specific = true,
                std::cmp::Ordering::Equal => {}
            },
        }
        i += 1;
    }
    a_more_specific == b_more_specific
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(a: &str, b: &str) -> bool {
        ambiguous(&parse(a), &parse(b))
    }

    #[test]
    fn patterns_conflict_only_when_neither_is_more_specific() {
        assert!(conflict("/users/{id}", "/users/{name}"));
        assert!(conflict("/users", "/users"));
        assert!(conflict("/a/{x}/c", "/a/b/{y}"));
        assert!(conflict("/q/", "/q/{rest...}"));
        assert!(conflict("/{x}/b", "/a/{r...}"));
        assert!(!conflict("/users/{id}", "/users/me"));
        assert!(!conflict("/users/{id}", "/users/{id}/posts"));
        assert!(!conflict("/users/a", "/users/b"));
        assert!(!conflict("/a/{x}", "/a/{x...}"));
        assert!(!conflict("/a", "/a/{x...}"));
        assert!(!conflict("/api/", "/api/items"));
    }

    #[test]
    fn a_trailing_slash_is_the_rest_of_the_path() {
        assert_eq!(
            parse("/api/{id}/"),
            vec![
                Segment::Literal("api".into()),
                Segment::Param("id".into()),
                Segment::Rest(None)
            ]
        );
        assert_eq!(parse("/"), vec![Segment::Rest(None)]);
        assert_eq!(
            parse("/f/{p...}"),
            vec![
                Segment::Literal("f".into()),
                Segment::Rest(Some("p".into()))
            ]
        );
    }
}
