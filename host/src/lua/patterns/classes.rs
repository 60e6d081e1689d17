//! What a single subject byte is matched against: the `%` classes, as the C library's
//! `isalpha` and the others classify bytes in the "C" locale, and sets `[...]`.

/// The extra steps one test against the class `p..ep` costs: a set is read item by item, so
/// a long one takes longer, and the budget should bound the time whatever the pattern.
#[inline(always)]
pub fn set_cost(pat: &[u8], p: usize, ep: usize) -> u64 {
    if pat[p] == b'[' {
        (ep - p) as u64 / 4
    } else {
        0
    }
}

const ALPHA: u16 = 1 << 0;
const CNTRL: u16 = 1 << 1;
const DIGIT: u16 = 1 << 2;
const GRAPH: u16 = 1 << 3;
const LOWER: u16 = 1 << 4;
const PUNCT: u16 = 1 << 5;
const SPACE: u16 = 1 << 6;
const UPPER: u16 = 1 << 7;
const ALNUM: u16 = 1 << 8;
const XDIGIT: u16 = 1 << 9;
const ZERO: u16 = 1 << 10;

/// The C library's `isalpha`, `iscntrl`, … in the "C" locale (the one a Rust program runs
/// in), byte by byte: nothing above 127 is in any class.
pub static CLASSES: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 128 {
        let c = i as u8;
        let mut bits = 0;
        if c.is_ascii_alphabetic() {
            bits |= ALPHA;
        }
        if c.is_ascii_control() {
            bits |= CNTRL;
        }
        if c.is_ascii_digit() {
            bits |= DIGIT;
        }
        if c.is_ascii_graphic() {
            bits |= GRAPH;
        }
        if c.is_ascii_lowercase() {
            bits |= LOWER;
        }
        if c.is_ascii_punctuation() {
            bits |= PUNCT;
        }
        // C's isspace has the vertical tab, which Rust's is_ascii_whitespace leaves out.
        if c == b' ' || (c >= 9 && c <= 13) {
            bits |= SPACE;
        }
        if c.is_ascii_uppercase() {
            bits |= UPPER;
        }
        if c.is_ascii_alphanumeric() {
            bits |= ALNUM;
        }
        if c.is_ascii_hexdigit() {
            bits |= XDIGIT;
        }
        if c == 0 {
            bits |= ZERO;
        }
        table[i] = bits;
        i += 1;
    }
    table
};

/// Whether `byte` is in the class `%class`: a letter names a class (upper case for its
/// complement); any other byte stands for itself.
#[inline]
pub fn in_class(byte: u8, class: u8) -> bool {
    match class_bits(class) {
        Some((bits, complement)) => (CLASSES[byte as usize] & bits != 0) != complement,
        None => class == byte,
    }
}

/// The class a `%` letter names, and whether it is the complement; `None` for a byte that
/// stands for itself.
#[inline]
pub fn class_bits(class: u8) -> Option<(u16, bool)> {
    let bits = match class.to_ascii_lowercase() {
        b'a' => ALPHA,
        b'c' => CNTRL,
        b'd' => DIGIT,
        b'g' => GRAPH,
        b'l' => LOWER,
        b'p' => PUNCT,
        b's' => SPACE,
        b'u' => UPPER,
        b'w' => ALNUM,
        b'x' => XDIGIT,
        // Lua 5.1's class of the zero byte, which 5.4 still takes.
        b'z' => ZERO,
        _ => return None,
    };
    Some((bits, class.is_ascii_uppercase()))
}

/// Whether `byte` is in the set `[...]` of `pat` from `p` (its `[`) to `end` (its `]`):
/// a `^` first negates it; then `%x` classes and escapes, `a-z` ranges (a `-` first or
/// last is itself) and single bytes.
#[inline(never)]
pub fn in_set(pat: &[u8], byte: u8, p: usize, end: usize) -> bool {
    let mut p = p + 1;
    let negated = pat.get(p).copied().unwrap_or(0) == b'^';
    if negated {
        p += 1;
    }
    while p < end {
        let item = pat[p];
        if item == b'%' {
            p += 1;
            if in_class(byte, pat.get(p).copied().unwrap_or(0)) {
                return !negated;
            }
            p += 1;
        } else if pat.get(p + 1).copied().unwrap_or(0) == b'-' && p + 2 < end {
            if item <= byte && byte <= pat[p + 2] {
                return !negated;
            }
            p += 3;
        } else {
            if item == byte {
                return !negated;
            }
            p += 1;
        }
    }
    negated
}
