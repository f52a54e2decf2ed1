//! JSON helpers: the first-element scanner for event names, syntax validation, and a
//! formatter whose numbers match JavaScript's `JSON.stringify`.

use std::io;

use serde_json::ser::Formatter as _;

use bytestring::ByteString;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::ParseError;

/// JSON insignificant whitespace.
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index of the first non-whitespace byte at or after `i`.
#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// The first non-whitespace byte of a JSON text.
#[inline]
pub(crate) fn first_byte(b: &[u8]) -> Option<u8> {
    b.get(skip_ws(b, 0)).copied()
}

/// Checks that `b` is one well-formed JSON text (without building anything).
pub(crate) fn validate(b: &[u8]) -> Result<(), ParseError> {
    let mut de = serde_json::Deserializer::from_slice(b);
    IgnoredAny::deserialize(&mut de).map_err(|_| ParseError::InvalidJson)?;
    de.end().map_err(|_| ParseError::InvalidJson)
}

/// An event name: where it is in the payload, or its unescaped value when it has escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Name {
    /// `payload[start..end]`, used as is.
    At(usize, usize),
    /// The value of a name written with escapes.
    Unescaped(ByteString),
}

impl Name {
    /// The name, given the payload it was read from.
    pub(crate) fn get<'a>(&'a self, payload: &'a str) -> &'a str {
        match self {
            Name::At(start, end) => &payload[*start..*end],
            Name::Unescaped(name) => name,
        }
    }
}

/// Reads the event name at the head of an EVENT payload `[name, args…]` without parsing the
/// arguments. Returns the name (a string, unescaped; or a number as its JSON text) and the
/// index of the `,` or `]` that follows it.
pub(crate) fn event_name(payload: &str) -> Result<(Name, usize), ParseError> {
    let b = payload.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return Err(ParseError::InvalidPayload);
    }
    i = skip_ws(b, i + 1);
    let (name, end) = match b.get(i) {
        Some(b'"') => string_token(payload, i)?,
        Some(b'-' | b'0'..=b'9') => {
            let len = b[i..]
                .iter()
                .take_while(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                .count();
            let text = &payload[i..i + len];
            serde_json::from_str::<serde_json::Number>(text)
                .map_err(|_| ParseError::InvalidJson)?;
            (Name::At(i, i + len), i + len)
        }
        // `[]` and names that are not strings or numbers are invalid EVENT payloads.
        _ => return Err(ParseError::InvalidPayload),
    };
    let after = skip_ws(b, end);
    match b.get(after) {
        Some(b',' | b']') => Ok((name, after)),
        _ => Err(ParseError::InvalidJson),
    }
}

/// Reads the JSON string starting at the quote at `q`; returns its value and the index after
/// the closing quote. Names without escapes are located, not copied.
fn string_token(text: &str, q: usize) -> Result<(Name, usize), ParseError> {
    let b = text.as_bytes();
    let start = q + 1;
    // Event names are short: one pass over the bytes beats a vectorized search's set-up.
    let mut end = start;
    loop {
        match b.get(end) {
            Some(b'"') => return Ok((Name::At(start, end), end + 1)),
            Some(b'\\') => break,
            Some(&c) if c < 0x20 => return Err(ParseError::InvalidJson),
            Some(_) => end += 1,
            None => return Err(ParseError::InvalidJson),
        }
    }
    // Escapes: find the closing quote, then let serde_json unescape.
    let mut i = end;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => {
                let value: String =
                    serde_json::from_str(&text[q..=i]).map_err(|_| ParseError::InvalidJson)?;
                return Ok((Name::Unescaped(ByteString::from(value)), i + 1));
            }
            _ => i += 1,
        }
    }
    Err(ParseError::InvalidJson)
}

/// A compact JSON formatter whose floating-point output is JavaScript's `Number#toString`
/// (`1.0` → `1`, `1e21` → `1e+21`, `-0` → `0`), so our output compares equal, as text, to what
/// `JSON.stringify` writes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JsFormatter;

impl serde_json::ser::Formatter for JsFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        write_js_number(w, value)
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        // JavaScript numbers are doubles; print the f32's shortest form as a double would be.
        let shortest: f64 = value.to_string().parse().unwrap_or(f64::from(value));
        write_js_number(w, shortest)
    }
}

/// Writes a finite double as ECMAScript's Number::toString does (serde_json writes `null` for
/// non-finite values before reaching the formatter).
pub(crate) fn write_js_number<W: ?Sized + io::Write>(w: &mut W, value: f64) -> io::Result<()> {
    if value == 0.0 {
        return w.write_all(b"0");
    }
    // Fast path: serde_json's own (ryu) shortest digits. Without an exponent they are exactly
    // JavaScript's, except that integers end in `.0`; ryu switches to exponents in a narrower
    // range than JavaScript (below 1e-5 and from 1e16), which the general path below handles.
    let mut digits = [0u8; 32];
    let mut free = &mut digits[..];
    serde_json::ser::CompactFormatter.write_f64(&mut free, value)?;
    let len = 32 - free.len();
    let ryu = &digits[..len];
    if !ryu.contains(&b'e') {
        return w.write_all(ryu.strip_suffix(b".0").unwrap_or(ryu));
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `d[.ddd]e<exp>`.
    let sci = format!("{:e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut out = String::with_capacity(k as usize + 8);
    if value < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    w.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js(v: f64) -> String {
        let mut out = Vec::new();
        write_js_number(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_print_like_javascript() {
        assert_eq!(js(1.0), "1");
        assert_eq!(js(-0.0), "0");
        assert_eq!(js(1.5), "1.5");
        assert_eq!(js(0.1), "0.1");
        assert_eq!(js(-2.25), "-2.25");
        assert_eq!(js(1e21), "1e+21");
        assert_eq!(js(1e20), "100000000000000000000");
        assert_eq!(js(123456789012345680000.0), "123456789012345680000");
        assert_eq!(js(1e-7), "1e-7");
        assert_eq!(js(0.000001), "0.000001");
        assert_eq!(js(1.2345e-7), "1.2345e-7");
        assert_eq!(js(5e-324), "5e-324");
        assert_eq!(js(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(js(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn event_names_are_read_without_the_arguments() {
        let p = r#"["chat",{"msg":"hi"}]"#;
        let (name, at) = event_name(p).unwrap();
        assert_eq!(name.get(p), "chat");
        assert_eq!(&p[at..], r#",{"msg":"hi"}]"#);
        let p = r#" [ "a\"b\u00e9" ]"#;
        assert_eq!(event_name(p).unwrap().0.get(p), "a\"bé");
        let p = r#"[1,"numeric event name"]"#;
        assert_eq!(event_name(p).unwrap().0.get(p), "1");
        for bad in [
            "[]",
            "{}",
            "[true]",
            "[\"a\" x]",
            "[\"a",
            "[\"a\u{1}\"]",
            "[1x,2]",
            "\"a\"",
        ] {
            assert!(event_name(bad).is_err(), "{bad}");
        }
    }
}
