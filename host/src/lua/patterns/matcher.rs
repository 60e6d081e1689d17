//! The matching engine: Lua 5.4's patterns (reference manual §6.4.1) over byte strings, as a
//! backtracking matcher like Lua's own, so every pattern matches exactly what it matches in
//! Lua — including its greedy/lazy choices, which capture wins, and which malformed pattern
//! fails with which message. What it adds is a budget: the work is counted in steps — one
//! for each pattern item tried at a position (every backtrack tries one again), one for each
//! byte a repetition or `%b` runs over, more for a long set, a sixteenth per byte a
//! back-reference compares — and a call that runs out stops with
//! [`PatternError::OutOfSteps`] instead of pinning its thread for the hours a pattern like
//! `.-.-.-.-b` can take on a long subject. A step is a few nanoseconds at most.
//!
//! Pure Rust on slices, with nothing to drop: the Lua glue may raise a Lua error (a
//! `longjmp`) while a [`Matcher`] is alive.

use super::classes::{CLASSES, class_bits, in_class, in_set, set_cost};

/// Lua's `LUA_MAXCAPTURES`.
pub const MAX_CAPTURES: usize = 32;

/// Lua's `MAXCCALLS` for matching: how deeply the matcher may recurse (one level per
/// capture, `?`, `*`, `+` or `-` item still open) before "pattern too complex". It also keeps
/// the Rust stack bounded, whatever the pattern.
const MAX_DEPTH: u32 = 200;

/// A capture's length while its `)` has not been reached.
const UNFINISHED: isize = -1;
/// The length that marks a position capture, `()`.
const POSITION: isize = -2;

/// Why a match could not be decided. The messages are Lua's own, word for word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternError {
    EndsWithPercent,
    MissingBracket,
    MissingBalanceArguments,
    MissingFrontierBracket,
    /// `%n` naming a capture that is not there (n as written, 0 included).
    InvalidCaptureIndex(i32),
    InvalidPatternCapture,
    UnfinishedCapture,
    TooManyCaptures,
    /// Recursion deeper than [`MAX_DEPTH`].
    TooComplex,
    /// The step budget (the number given) ran out.
    OutOfSteps(u64),
    /// The matcher panicked: a bug, reported rather than unwound through Lua.
    Internal,
}

impl PatternError {
    /// The error's text; `function` names the caller (`string.find`) for the budget error,
    /// the only one Lua does not have.
    pub fn write(&self, out: &mut impl std::fmt::Write, function: &str) -> std::fmt::Result {
        match self {
            Self::EndsWithPercent => out.write_str("malformed pattern (ends with '%')"),
            Self::MissingBracket => out.write_str("malformed pattern (missing ']')"),
            Self::MissingBalanceArguments => {
                out.write_str("malformed pattern (missing arguments to '%b')")
            }
            Self::MissingFrontierBracket => out.write_str("missing '[' after '%f' in pattern"),
            Self::InvalidCaptureIndex(n) => write!(out, "invalid capture index %{n}"),
            Self::InvalidPatternCapture => out.write_str("invalid pattern capture"),
            Self::UnfinishedCapture => out.write_str("unfinished capture"),
            Self::TooManyCaptures => out.write_str("too many captures"),
            Self::TooComplex => out.write_str("pattern too complex"),
            Self::OutOfSteps(steps) => write!(
                out,
                "{function}: pattern too complex for this subject (gave up after {steps} steps); \
                 simplify the pattern or match a shorter string"
            ),
            Self::Internal => write!(out, "{function}: internal error in pattern matching"),
        }
    }
}

/// Stops the matching; the reason is in [`Matcher::error`]. Small, so that an outcome
/// travels in registers through the recursion.
#[derive(Debug)]
struct Stop;

/// Where a match ends, `None` when the pattern does not match.
type Outcome = Result<Option<usize>, Stop>;

/// A capture: where it starts in the subject and its length, or [`UNFINISHED`] or
/// [`POSITION`].
#[derive(Clone, Copy)]
struct Capture {
    start: usize,
    len: isize,
}

/// What a capture holds once the match is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Captured {
    /// The bytes `start..end` of the subject.
    Span(usize, usize),
    /// A position capture: the 1-based position, as Lua returns it.
    Position(usize),
}

/// Matches one pattern against one subject. `src` and `pat` are the whole subject and the
/// pattern without its anchoring `^`.
pub struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    /// How many captures are open or closed.
    level: usize,
    /// Recursion left before "pattern too complex".
    depth: u32,
    /// Steps left in the budget; the budget itself is kept for the message.
    steps_left: u64,
    budget: u64,
    /// Why the matching stopped, once it has.
    error: PatternError,
    captures: [Capture; MAX_CAPTURES],
}

impl<'a> Matcher<'a> {
    pub fn new(src: &'a [u8], pat: &'a [u8], budget: u64) -> Self {
        Self {
            src,
            pat,
            level: 0,
            depth: MAX_DEPTH,
            steps_left: budget,
            budget,
            error: PatternError::Internal,
            captures: [Capture { start: 0, len: 0 }; MAX_CAPTURES],
        }
    }

    /// The subject.
    pub fn subject(&self) -> &'a [u8] {
        self.src
    }

    /// The first match that starts at `from` or later (only at `from` when `anchored`) and
    /// does not end at `last_end`, as `(start, end)`. `from` may be the subject's length,
    /// where only an empty match fits. `last_end` is how `gmatch` and `gsub` skip the empty
    /// match right where the previous one ended, as Lua 5.4 does; `usize::MAX` for none.
    pub fn next_match(
        &mut self,
        from: usize,
        last_end: usize,
        anchored: bool,
    ) -> Result<Option<(usize, usize)>, PatternError> {
        let mut s = from;
        while s <= self.src.len() {
            if !anchored {
                match self.next_candidate(s) {
                    Some(next) => s = next,
                    None => break,
                }
            }
            // Each attempt starts afresh, but the step budget is for the whole call.
            self.level = 0;
            self.depth = MAX_DEPTH;
            match self.do_match(s, 0) {
                Err(Stop) => return Err(self.error),
                Ok(Some(end)) if end != last_end => return Ok(Some((s, end))),
                Ok(_) if anchored => break,
                Ok(_) => s += 1,
            }
        }
        Ok(None)
    }

    /// The first position at or after `s` where a match may start. A pattern that begins
    /// with a plain byte (not optional) can only match where that byte is, so the search
    /// skips to it as a substring search would; `None` when no position is left.
    fn next_candidate(&self, s: usize) -> Option<usize> {
        match self.first_byte() {
            None => Some(s),
            Some(byte) => {
                let rest = self.src.get(s..)?;
                memchr::memchr(byte, rest).map(|offset| s + offset)
            }
        }
    }

    /// The byte every match must start with, when the pattern says so plainly.
    fn first_byte(&self) -> Option<u8> {
        let &first = self.pat.first()?;
        if b"^$*+?.()[%-".contains(&first) {
            return None;
        }
        match self.pat.get(1) {
            Some(b'*' | b'?' | b'-') => None,
            _ => Some(first),
        }
    }

    /// The steps taken so far.
    #[cfg(test)]
    pub fn steps_taken(&self) -> u64 {
        self.budget - self.steps_left
    }

    /// Counts `n` steps of work done for the call outside the matcher.
    pub fn spend(&mut self, n: u64) -> Result<(), PatternError> {
        self.charge(n).map_err(|Stop| self.error)
    }

    /// How many values a match produces: its captures, or the whole match when it has none
    /// and `whole` says it counts (`match`, `gmatch`, a `gsub` function); `find` does not.
    pub fn capture_count(&self, whole: bool) -> usize {
        if self.level == 0 && whole {
            1
        } else {
            self.level
        }
    }

    /// Capture `i` (0-based) of the match `s..e`; with no captures at all, capture 0 is the
    /// whole match.
    pub fn capture(&self, i: usize, s: usize, e: usize) -> Result<Captured, PatternError> {
        if i >= self.level {
            return if i == 0 {
                Ok(Captured::Span(s, e))
            } else {
                Err(PatternError::InvalidCaptureIndex(i as i32 + 1))
            };
        }
        let capture = self.captures[i];
        match capture.len {
            UNFINISHED => Err(PatternError::UnfinishedCapture),
            POSITION => Ok(Captured::Position(capture.start + 1)),
            len => Ok(Captured::Span(capture.start, capture.start + len as usize)),
        }
    }

    /// The pattern's byte at `p`, or 0 past its end: Lua reads its strings' terminating NUL
    /// there, and what follows depends on it (`(` at the end opens a capture).
    fn pat_at(&self, p: usize) -> u8 {
        self.pat.get(p).copied().unwrap_or(0)
    }

    /// Counts `n` steps against the budget.
    #[inline(always)]
    fn charge(&mut self, n: u64) -> Result<(), Stop> {
        match self.steps_left.checked_sub(n) {
            Some(left) => {
                self.steps_left = left;
                Ok(())
            }
            None => self.fail(PatternError::OutOfSteps(self.budget)),
        }
    }

    /// Stops the matching for `error`.
    #[cold]
    fn fail<T>(&mut self, error: PatternError) -> Result<T, Stop> {
        self.error = error;
        Err(Stop)
    }

    /// Matches the pattern from `p` at subject position `s`; `Some(end)` on success. Items
    /// that need no choice (a single byte, `%b`, `%f`, a back-reference) loop here; those
    /// that may have to be undone recurse, one level each, as in Lua (whose depth limit
    /// this shares).
    fn do_match(&mut self, mut s: usize, mut p: usize) -> Outcome {
        if self.depth == 0 {
            return self.fail(PatternError::TooComplex);
        }
        self.depth -= 1;
        let outcome = loop {
            self.charge(1)?;
            let Some(&item) = self.pat.get(p) else {
                break Some(s);
            };
            match item {
                b'(' if self.pat_at(p + 1) == b')' => {
                    break self.start_capture(s, p + 2, POSITION)?;
                }
                b'(' => break self.start_capture(s, p + 1, UNFINISHED)?,
                b')' => break self.end_capture(s, p + 1)?,
                b'$' if p + 1 == self.pat.len() => break (s == self.src.len()).then_some(s),
                b'%' => match self.pat_at(p + 1) {
                    b'b' => match self.match_balance(s, p + 2)? {
                        Some(end) => {
                            (s, p) = (end, p + 4);
                            continue;
                        }
                        None => break None,
                    },
                    b'f' => match self.match_frontier(s, p + 2)? {
                        Some(next) => {
                            p = next;
                            continue;
                        }
                        None => break None,
                    },
                    digit @ b'0'..=b'9' => match self.match_back_reference(s, digit)? {
                        Some(end) => {
                            (s, p) = (end, p + 2);
                            continue;
                        }
                        None => break None,
                    },
                    _ => {}
                },
                _ => {}
            }
            // A single-byte class, maybe with a quantifier after it.
            let ep = self.class_end(p)?;
            let suffix = self.pat_at(ep);
            if !self.single_match(s, p, ep)? {
                if matches!(suffix, b'*' | b'?' | b'-') {
                    p = ep + 1; // zero repetitions will do
                    continue;
                }
                break None;
            }
            match suffix {
                b'?' => match self.do_match(s + 1, ep + 1)? {
                    Some(end) => break Some(end),
                    None => p = ep + 1,
                },
                b'+' => break self.max_expand(s + 1, p, ep)?,
                b'*' => break self.max_expand(s, p, ep)?,
                b'-' => break self.min_expand(s, p, ep)?,
                _ => (s, p) = (s + 1, ep),
            }
        };
        self.depth += 1;
        Ok(outcome)
    }

    /// Greedy repetition: takes as many bytes of the class `p..ep` as there are from `s`,
    /// then gives them back one at a time until the rest of the pattern matches.
    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Outcome {
        let mut count = self.run_length(s, p, ep);
        self.charge((count as u64 + 1) * (1 + set_cost(self.pat, p, ep)))?;
        loop {
            if let Some(end) = self.do_match(s + count, ep + 1)? {
                return Ok(Some(end));
            }
            if count == 0 {
                return Ok(None);
            }
            count -= 1;
        }
    }

    /// How many bytes from `s` on are in the class `p..ep`, each kind of class with a loop
    /// of its own (`.*` takes the rest at once).
    fn run_length(&self, s: usize, p: usize, ep: usize) -> usize {
        let rest = &self.src[s..];
        match self.pat[p] {
            b'.' => rest.len(),
            b'%' => match class_bits(self.pat[p + 1]) {
                Some((bits, complement)) => rest
                    .iter()
                    .take_while(|&&b| (CLASSES[b as usize] & bits != 0) != complement)
                    .count(),
                None => rest.iter().take_while(|&&b| b == self.pat[p + 1]).count(),
            },
            b'[' => rest
                .iter()
                .take_while(|&&b| in_set(self.pat, b, p, ep - 1))
                .count(),
            literal => rest.iter().take_while(|&&b| b == literal).count(),
        }
    }

    /// Lazy repetition: tries the rest of the pattern first, taking one more byte of the
    /// class only when it fails.
    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Outcome {
        loop {
            if let Some(end) = self.do_match(s, ep + 1)? {
                return Ok(Some(end));
            }
            if !self.single_match(s, p, ep)? {
                return Ok(None);
            }
            s += 1;
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, len: isize) -> Outcome {
        if self.level >= MAX_CAPTURES {
            return self.fail(PatternError::TooManyCaptures);
        }
        self.captures[self.level] = Capture { start: s, len };
        self.level += 1;
        let outcome = self.do_match(s, p)?;
        if outcome.is_none() {
            self.level -= 1;
        }
        Ok(outcome)
    }

    /// Closes the innermost capture still open.
    fn end_capture(&mut self, s: usize, p: usize) -> Outcome {
        let Some(open) = (0..self.level)
            .rev()
            .find(|&i| self.captures[i].len == UNFINISHED)
        else {
            return self.fail(PatternError::InvalidPatternCapture);
        };
        self.captures[open].len = (s - self.captures[open].start) as isize;
        let outcome = self.do_match(s, p)?;
        if outcome.is_none() {
            self.captures[open].len = UNFINISHED;
        }
        Ok(outcome)
    }

    /// `%bxy` at `s` (`p` at `x`): from an `x` to the `y` that balances it.
    fn match_balance(&mut self, s: usize, p: usize) -> Outcome {
        if p + 1 >= self.pat.len() {
            return self.fail(PatternError::MissingBalanceArguments);
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        if self.src.get(s) != Some(&open) {
            return Ok(None);
        }
        let mut depth = 1usize;
        for (i, &byte) in self.src[s + 1..].iter().enumerate() {
            if byte == close {
                depth -= 1;
                if depth == 0 {
                    self.charge(i as u64 + 1)?;
                    return Ok(Some(s + i + 2));
                }
            } else if byte == open {
                depth += 1;
            }
        }
        self.charge((self.src.len() - s) as u64)?;
        Ok(None)
    }

    /// `%f[set]` at `s` (`p` at its `[`): the byte before `s` (a NUL at the start) is not
    /// in the set and the one at `s` (a NUL at the end) is. Returns where the pattern goes on.
    fn match_frontier(&mut self, s: usize, p: usize) -> Outcome {
        if self.pat_at(p) != b'[' {
            return self.fail(PatternError::MissingFrontierBracket);
        }
        let ep = self.class_end(p)?;
        let previous = if s == 0 { 0 } else { self.src[s - 1] };
        let current = self.src.get(s).copied().unwrap_or(0);
        self.charge(2 * set_cost(self.pat, p, ep))?;
        let at_frontier =
            !in_set(self.pat, previous, p, ep - 1) && in_set(self.pat, current, p, ep - 1);
        Ok(at_frontier.then_some(ep))
    }

    /// `%1`–`%9` at `s`: the same bytes as that capture holds (a position capture never
    /// matches).
    fn match_back_reference(&mut self, s: usize, digit: u8) -> Outcome {
        let index = i32::from(digit) - i32::from(b'1');
        let found = usize::try_from(index)
            .ok()
            .filter(|&i| i < self.level && self.captures[i].len != UNFINISHED);
        let Some(capture) = found.map(|i| self.captures[i]) else {
            return self.fail(PatternError::InvalidCaptureIndex(index + 1));
        };
        let Ok(len) = usize::try_from(capture.len) else {
            return Ok(None);
        };
        let Some(here) = self.src.get(s..s + len) else {
            return Ok(None); // too few bytes left: nothing to compare
        };
        // A comparison runs at memory speed, many bytes per step's worth of time.
        self.charge(1 + len as u64 / 16)?;
        Ok((here == &self.src[capture.start..capture.start + len]).then_some(s + len))
    }

    /// Where the single-byte class starting at `p` ends: past `%x`, past `[...]`, or past
    /// the one byte.
    fn class_end(&mut self, p: usize) -> Result<usize, Stop> {
        let mut p = p + 1;
        match self.pat[p - 1] {
            b'%' if p >= self.pat.len() => self.fail(PatternError::EndsWithPercent),
            b'%' => Ok(p + 1),
            b'[' => {
                if self.pat_at(p) == b'^' {
                    p += 1;
                }
                // The first byte of a set is taken as it is, so `[]]` and `[^]]` hold `]`.
                loop {
                    if p >= self.pat.len() {
                        return self.fail(PatternError::MissingBracket);
                    }
                    let byte = self.pat[p];
                    p += 1;
                    if byte == b'%' && p < self.pat.len() {
                        p += 1; // an escaped byte, `%]` included
                    }
                    if self.pat_at(p) == b']' {
                        return Ok(p + 1);
                    }
                }
            }
            _ => Ok(p),
        }
    }

    /// Whether the subject byte at `s` is in the single-byte class `p..ep`.
    /// A set costs steps for its length (see [`set_cost`]).
    #[inline(always)]
    fn single_match(&mut self, s: usize, p: usize, ep: usize) -> Result<bool, Stop> {
        let Some(&byte) = self.src.get(s) else {
            return Ok(false);
        };
        Ok(match self.pat[p] {
            b'.' => true,
            b'%' => in_class(byte, self.pat[p + 1]),
            b'[' => {
                self.charge(set_cost(self.pat, p, ep))?;
                in_set(self.pat, byte, p, ep - 1)
            }
            literal => literal == byte,
        })
    }
}
