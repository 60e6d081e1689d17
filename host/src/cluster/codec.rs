//! Payloads between nodes, as MessagePack: compact, and every payload kind survives the trip
//! — nil, booleans, integers apart from floats, text apart from bytes (`bin`), lists, and maps
//! whatever their keys. A payload larger than the limit is refused with the sizes named, on
//! the way out and on the way in.

use crate::values::Payload;

/// What one payload may weigh on the wire unless `WIPPY_CLUSTER_MAX_PAYLOAD` says otherwise
/// (NATS's own default message limit is 1 MiB).
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

/// The limit in effect: `WIPPY_CLUSTER_MAX_PAYLOAD` (bytes) when set and valid, else
/// [`DEFAULT_MAX_PAYLOAD`]; read once.
pub fn max_payload() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("WIPPY_CLUSTER_MAX_PAYLOAD")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_PAYLOAD)
    })
}

/// How deep lists and maps may nest in a payload that arrives: a crafted message cannot make
/// the decoder recurse without end.
const MAX_DEPTH: usize = 128;

/// The payload as MessagePack, or why it cannot travel.
pub fn encode(payload: &Payload, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write(&mut out, payload);
    if out.len() > limit {
        return Err(too_large(out.len(), limit));
    }
    Ok(out)
}

/// A payload from MessagePack bytes another node sent.
pub fn decode(bytes: &[u8], limit: usize) -> Result<Payload, String> {
    if bytes.len() > limit {
        return Err(too_large(bytes.len(), limit));
    }
    let mut reader = bytes;
    let payload = read(&mut reader, 0)?;
    if !reader.is_empty() {
        return Err(format!("{} bytes follow the payload", reader.len()));
    }
    Ok(payload)
}

pub(super) fn too_large(size: usize, limit: usize) -> String {
    format!(
        "the payload is {size} bytes, more than the {limit} a message between nodes may carry (WIPPY_CLUSTER_MAX_PAYLOAD); send less, or send where it can be fetched"
    )
}

/// Writes into memory, which cannot fail: the encoder's errors are those of its writer.
pub(super) fn write(out: &mut Vec<u8>, payload: &Payload) {
    use rmp::encode;
    match payload {
        Payload::Nil => drop(encode::write_nil(out)),
        Payload::Bool(b) => drop(encode::write_bool(out, *b)),
        Payload::Integer(i) => drop(encode::write_sint(out, *i)),
        Payload::Number(n) => drop(encode::write_f64(out, *n)),
        Payload::String(s) => drop(encode::write_str(out, s)),
        Payload::Bytes(b) => drop(encode::write_bin(out, b)),
        Payload::List(items) => {
            drop(encode::write_array_len(out, items.len() as u32));
            items.iter().for_each(|item| write(out, item));
        }
        Payload::Map(entries) => {
            drop(encode::write_map_len(out, entries.len() as u32));
            for (key, value) in entries {
                write(out, key);
                write(out, value);
            }
        }
    }
}

/// The count of a map that starts `input`, if one does.
pub(super) fn read_map_len(input: &mut &[u8]) -> Option<usize> {
    let count = rmp::decode::read_map_len(input).ok()? as usize;
    // Each field takes at least two bytes: a count past the bytes left is a lie.
    (count.saturating_mul(2) <= input.len()).then_some(count)
}

/// The string that starts `input` (a letter's field name), borrowed from it.
pub(super) fn read_str<'a>(input: &mut &'a [u8]) -> Option<&'a str> {
    let n = rmp::decode::read_str_len(input).ok()? as usize;
    std::str::from_utf8(take(input, n).ok()?).ok()
}

/// The next `n` bytes of `input`, borrowed.
fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if input.len() < n {
        return Err("the payload ends early".into());
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

pub(super) fn read(input: &mut &[u8], depth: usize) -> Result<Payload, String> {
    use rmp::Marker;
    if depth > MAX_DEPTH {
        return Err(format!("the payload nests deeper than {MAX_DEPTH} levels"));
    }
    let marker =
        rmp::decode::read_marker(input).map_err(|_| "the payload ends early".to_string())?;
    let mut take = |n: usize| take(input, n);
    let be = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    Ok(match marker {
        Marker::Null => Payload::Nil,
        Marker::True => Payload::Bool(true),
        Marker::False => Payload::Bool(false),
        Marker::FixPos(n) => Payload::Integer(i64::from(n)),
        Marker::FixNeg(n) => Payload::Integer(i64::from(n)),
        Marker::U8 => Payload::Integer(be(take(1)?) as i64),
        Marker::U16 => Payload::Integer(be(take(2)?) as i64),
        Marker::U32 => Payload::Integer(be(take(4)?) as i64),
        Marker::U64 => {
            let n = be(take(8)?);
            i64::try_from(n)
                .map(Payload::Integer)
                .unwrap_or(Payload::Number(n as f64))
        }
        Marker::I8 => Payload::Integer(i64::from(be(take(1)?) as u8 as i8)),
        Marker::I16 => Payload::Integer(i64::from(be(take(2)?) as u16 as i16)),
        Marker::I32 => Payload::Integer(i64::from(be(take(4)?) as u32 as i32)),
        Marker::I64 => Payload::Integer(be(take(8)?) as i64),
        Marker::F32 => Payload::Number(f64::from(f32::from_bits(be(take(4)?) as u32))),
        Marker::F64 => Payload::Number(f64::from_bits(be(take(8)?))),
        Marker::FixStr(n) => text(take(usize::from(n))?)?,
        Marker::Str8 => {
            let n = be(take(1)?) as usize;
            text(take(n)?)?
        }
        Marker::Str16 => {
            let n = be(take(2)?) as usize;
            text(take(n)?)?
        }
        Marker::Str32 => {
            let n = be(take(4)?) as usize;
            text(take(n)?)?
        }
        Marker::Bin8 => {
            let n = be(take(1)?) as usize;
            Payload::Bytes(take(n)?.to_vec())
        }
        Marker::Bin16 => {
            let n = be(take(2)?) as usize;
            Payload::Bytes(take(n)?.to_vec())
        }
        Marker::Bin32 => {
            let n = be(take(4)?) as usize;
            Payload::Bytes(take(n)?.to_vec())
        }
        Marker::FixArray(n) => list(input, usize::from(n), depth)?,
        Marker::Array16 => {
            let n = be(take(2)?) as usize;
            list(input, n, depth)?
        }
        Marker::Array32 => {
            let n = be(take(4)?) as usize;
            list(input, n, depth)?
        }
        Marker::FixMap(n) => map(input, usize::from(n), depth)?,
        Marker::Map16 => {
            let n = be(take(2)?) as usize;
            map(input, n, depth)?
        }
        Marker::Map32 => {
            let n = be(take(4)?) as usize;
            map(input, n, depth)?
        }
        other => {
            return Err(format!(
                "the payload holds {other:?}, which no payload encodes"
            ));
        }
    })
}

fn text(bytes: &[u8]) -> Result<Payload, String> {
    std::str::from_utf8(bytes)
        .map(|s| Payload::String(s.to_string()))
        .map_err(|_| "a string of the payload is not UTF-8".to_string())
}

fn list(input: &mut &[u8], n: usize, depth: usize) -> Result<Payload, String> {
    // Each item takes at least one byte: a count past the bytes left is a lie.
    if n > input.len() {
        return Err("the payload ends early".into());
    }
    (0..n)
        .map(|_| read(input, depth + 1))
        .collect::<Result<_, _>>()
        .map(Payload::List)
}

fn map(input: &mut &[u8], n: usize, depth: usize) -> Result<Payload, String> {
    if n.saturating_mul(2) > input.len() {
        return Err("the payload ends early".into());
    }
    (0..n)
        .map(|_| Ok((read(input, depth + 1)?, read(input, depth + 1)?)))
        .collect::<Result<_, String>>()
        .map(Payload::Map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(payload: Payload) {
        let bytes = encode(&payload, DEFAULT_MAX_PAYLOAD).unwrap();
        assert_eq!(decode(&bytes, DEFAULT_MAX_PAYLOAD).unwrap(), payload);
    }

    #[test]
    fn every_payload_kind_survives_the_trip() {
        for payload in [
            Payload::Nil,
            Payload::Bool(true),
            Payload::Integer(0),
            Payload::Integer(-1),
            Payload::Integer(i64::MIN),
            Payload::Integer(i64::MAX),
            Payload::Integer(300),
            Payload::Number(1.5),
            Payload::Number(3.0),
            Payload::String("héllo".into()),
            Payload::String("x".repeat(70_000)),
            Payload::Bytes(vec![0, 255, 7]),
            Payload::List(vec![
                Payload::Integer(1),
                Payload::String("a".into()),
                Payload::Nil,
            ]),
            Payload::Map(vec![
                (Payload::String("k".into()), Payload::Bool(false)),
                (Payload::Integer(2), Payload::List(vec![])),
            ]),
        ] {
            round_trip(payload);
        }
    }

    #[test]
    fn the_limit_is_named_both_ways() {
        let big = Payload::String("x".repeat(100));
        let error = encode(&big, 50).unwrap_err();
        assert!(
            error.starts_with("the payload is 102 bytes, more than the 50"),
            "{error}"
        );
        let bytes = encode(&big, 1000).unwrap();
        assert!(decode(&bytes, 50).unwrap_err().contains("more than the 50"));
    }

    #[test]
    fn crafted_bytes_are_refused_not_trusted() {
        // An array that claims four billion items, in five bytes.
        assert_eq!(
            decode(&[0xdd, 0xff, 0xff, 0xff, 0xff], 1024).unwrap_err(),
            "the payload ends early"
        );
        // Nesting past the depth limit.
        let deep = vec![0x91; 1000];
        assert!(
            decode(&deep, 4096)
                .unwrap_err()
                .contains("nests deeper than 128")
        );
        assert!(decode(&[0xa3, b'a'], 1024).is_err());
        assert!(
            decode(&[0xc0, 0xc0], 1024)
                .unwrap_err()
                .contains("follow the payload")
        );
        assert!(
            decode(&[0xd4, 1, 2], 1024)
                .unwrap_err()
                .contains("which no payload encodes")
        );
    }
}
