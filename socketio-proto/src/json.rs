//! JSON helpers: the first-element scanner for event names, syntax validation, and a
//! formatter whose numbers match JavaScript's `JSON.stringify`.

use std::io;

use serde_json::ser::Formatter as _;

use bytestring::ByteString;

use crate::ParseError;

/// JSON insignificant whitespace.
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index of the first non-whitespace byte at or after `i`.
#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    // Most tokens follow one another directly: one comparison says so.
    while let Some(&c) = b.get(i) {
        if c > b' ' || !is_ws(c) {
            break;
        }
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
///
/// It accepts exactly what serde_json's `IgnoredAny` followed by `Deserializer::end` accepts
/// (the fuzz target `socketio_json_validate` compares the two): strict RFC 8259 syntax, no
/// depth limit (the nesting is a bit per level, so memory stays a fraction of the input), any
/// `\u` escape of four hex digits (lone surrogates included: they are not decoded), and bytes
/// inside strings taken as they are. One pass over the bytes: serde_json's path through its
/// deserializer cost about 900 instructions for a 30-byte event, and every EVENT and ACK a
/// server receives is checked this way before its handler parses it.
pub(crate) fn validate(b: &[u8]) -> Result<(), ParseError> {
    validate_inner(b).ok_or(ParseError::InvalidJson)
}

/// Kinds of open containers, one bit per level: 64 levels in a word, deeper ones spilled.
#[derive(Default)]
struct Nesting {
    /// The innermost levels, the innermost in bit 0 (1: an object).
    bits: u64,
    /// How many levels are open.
    depth: usize,
    /// Full words of outer levels.
    spill: Vec<u64>,
}

impl Nesting {
    #[inline]
    fn push(&mut self, object: bool) {
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.spill.push(self.bits);
            self.bits = 0;
        }
        self.bits = (self.bits << 1) | u64::from(object);
        self.depth += 1;
    }

    /// The innermost open container: `Some(true)` for an object.
    #[inline]
    fn top(&self) -> Option<bool> {
        (self.depth > 0).then_some(self.bits & 1 == 1)
    }

    #[inline]
    fn pop(&mut self) {
        self.bits >>= 1;
        self.depth -= 1;
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.bits = self.spill.pop().unwrap_or_default();
        }
    }
}

fn validate_inner(b: &[u8]) -> Option<()> {
    let mut open = Nesting::default();
    let mut i = skip_ws(b, 0);
    loop {
        // A value starts at `i`.
        match *b.get(i)? {
            b'{' => {
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    open.push(true);
                    i = key(b, i)?;
                    continue;
                }
            }
            b'[' => {
                i = skip_ws(b, i + 1);
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    open.push(false);
                    continue;
                }
            }
            b'"' => i = string_end(b, i + 1)?,
            b'-' | b'0'..=b'9' => i = number_end(b, i)?,
            b't' => i = literal_end(b, i, b"true")?,
            b'f' => i = literal_end(b, i, b"false")?,
            b'n' => i = literal_end(b, i, b"null")?,
            _ => return None,
        }
        // After a value: close containers until a `,` asks for the next value.
        loop {
            i = skip_ws(b, i);
            let Some(object) = open.top() else {
                return (i == b.len()).then_some(());
            };
            match (*b.get(i)?, object) {
                (b',', false) => {
                    i = skip_ws(b, i + 1);
                    break;
                }
                (b',', true) => {
                    i = key(b, skip_ws(b, i + 1))?;
                    break;
                }
                (b']', false) | (b'}', true) => {
                    open.pop();
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

/// An object key and its colon at `i`; where its value starts.
#[inline]
fn key(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let i = skip_ws(b, string_end(b, i + 1)?);
    (b.get(i) == Some(&b':')).then(|| skip_ws(b, i + 1))
}

/// Bytes that end a run of plain string contents: `"`, `\\` and the control characters.
static STRING_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        table[c] = true;
        c += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Eight bytes of string contents read as one word: a byte's high bit is set in the result
/// where it is `"`, `\` or a control character. Above the lowest such byte the result may have
/// false positives (borrows), never below it: the lowest set bit is exact.
#[inline]
fn string_special_bits(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    // Below 0x20: subtracting 0x20 borrows, and the byte's own high bit is clear.
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (quote | backslash | control) & HIGHS
}

/// The index after the closing quote of the string whose contents start at `i`.
#[inline]
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        // Plain contents: eight bytes at a time while they last (tokens, ids, text), then one
        // table lookup a byte.
        while let Some(word) = b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
            let special = string_special_bits(u64::from_le_bytes(word));
            if special != 0 {
                i += special.trailing_zeros() as usize / 8;
                break;
            }
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            if STRING_SPECIAL[usize::from(c)] {
                break;
            }
            i += 1;
        }
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match *b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            },
            // A control character.
            _ => return None,
        }
    }
}

/// The index after the number starting at `i` (`-`? then `0` or a digit run without a leading
/// zero, then `.digits`? and `e`/`E` `+`/`-`? `digits`?).
#[inline]
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], i: usize| {
        b[i.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match *b.get(i)? {
        b'0' => {
            i += 1;
            if b.get(i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
        b'1'..=b'9' => i += 1 + digits(b, i + 1),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(b, i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(b, i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    Some(i)
}

/// The index after `word` at `i`.
#[inline]
fn literal_end(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
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
    let after = string_end(b, end).ok_or(ParseError::InvalidJson)?;
    let value: String =
        serde_json::from_str(&text[q..after]).map_err(|_| ParseError::InvalidJson)?;
    Ok((Name::Unescaped(ByteString::from(value)), after))
}

/// Where [`JsonWriter`] puts the outer array of a value written into an argument list that is
/// already open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Splice {
    /// Nothing to splice: the value is written as it is.
    No,
    /// The value is an array whose elements continue a list already open: its `[` is not
    /// written and its first element gets a `,` (`[1,2]` after `["ev"` makes `["ev",1,2]`;
    /// `[]` makes `["ev"]`).
    Pending,
    /// Inside that array, before its first element.
    First,
}

/// Writes compact JSON into a `String` of its own, as JavaScript's `JSON.stringify` does:
/// numbers as `Number#toString` prints them (`1.0` -> `1`, `1e21` -> `1e+21`, `-0` -> `0`).
///
/// It is the serde_json formatter of our encoder. Everything serde_json hands a formatter is
/// a `&str` or ASCII (numbers, punctuation, escapes), so the text is built as a `String`
/// without a UTF-8 check afterwards (and without `unsafe`). The serializer's writer is
/// [`Refuse`]: serde_json writes only through the formatter, and a write that went past it
/// would fail the encode rather than be lost.
pub(crate) struct JsonWriter<'a> {
    out: &'a mut String,
    splice: Splice,
}

impl<'a> JsonWriter<'a> {
    /// A writer appending to `out`.
    #[inline]
    pub(crate) fn new(out: &'a mut String, splice: Splice) -> Self {
        JsonWriter { out, splice }
    }

    #[inline]
    fn push(&mut self, s: &str) -> io::Result<()> {
        self.out.push_str(s);
        Ok(())
    }

    /// The comma before every element but the first.
    #[inline]
    fn comma(&mut self, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            self.push(",")
        }
    }
}

/// [`JsonWriter`]'s methods that write an integer.
macro_rules! ints {
    ($($method:ident: $t:ty),*) => {$(
        #[inline]
        fn $method<W: ?Sized + io::Write>(&mut self, _: &mut W, value: $t) -> io::Result<()> {
            self.push(itoa::Buffer::new().format(value))
        }
    )*};
}

/// [`JsonWriter`]'s methods that write a fixed text (or nothing).
macro_rules! fixed {
    ($($method:ident => $text:literal),*) => {$(
        #[inline]
        fn $method<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
            self.push($text)
        }
    )*};
}

/// The serializer's writer under [`JsonWriter`]: every write is an error.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Refuse;

impl io::Write for Refuse {
    #[inline]
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("JSON written past the formatter"))
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl serde_json::ser::Formatter for JsonWriter<'_> {
    ints!(
        write_i8: i8,
        write_i16: i16,
        write_i32: i32,
        write_i64: i64,
        write_i128: i128,
        write_u8: u8,
        write_u16: u16,
        write_u32: u32,
        write_u64: u64,
        write_u128: u128
    );

    fixed!(
        write_null => "null",
        begin_string => "\"",
        end_string => "\"",
        end_array => "]",
        end_array_value => "",
        begin_object => "{",
        end_object => "}",
        end_object_key => "",
        begin_object_value => ":",
        end_object_value => ""
    );

    #[inline]
    fn write_bool<W: ?Sized + io::Write>(&mut self, _: &mut W, value: bool) -> io::Result<()> {
        self.push(if value { "true" } else { "false" })
    }

    #[inline]
    fn write_f32<W: ?Sized + io::Write>(&mut self, _: &mut W, value: f32) -> io::Result<()> {
        // JavaScript numbers are doubles; print the f32's shortest form as a double would be.
        let shortest: f64 = value.to_string().parse().unwrap_or(f64::from(value));
        write_js_number(self.out, shortest);
        Ok(())
    }

    #[inline]
    fn write_f64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: f64) -> io::Result<()> {
        write_js_number(self.out, value);
        Ok(())
    }

    #[inline]
    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        value: &str,
    ) -> io::Result<()> {
        self.push(value)
    }

    #[inline]
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.push(fragment)
    }

    #[inline]
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        use serde_json::ser::CharEscape;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let escape = match char_escape {
            CharEscape::Quote => "\\\"",
            CharEscape::ReverseSolidus => "\\\\",
            CharEscape::Solidus => "\\/",
            CharEscape::Backspace => "\\b",
            CharEscape::FormFeed => "\\f",
            CharEscape::LineFeed => "\\n",
            CharEscape::CarriageReturn => "\\r",
            CharEscape::Tab => "\\t",
            CharEscape::AsciiControl(byte) => {
                self.out.push_str("\\u00");
                self.out.push(char::from(HEX[usize::from(byte >> 4)]));
                self.out.push(char::from(HEX[usize::from(byte & 0xF)]));
                return Ok(());
            }
        };
        self.push(escape)
    }

    #[inline]
    fn begin_array<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        if self.splice == Splice::Pending {
            self.splice = Splice::First;
            return Ok(());
        }
        self.push("[")
    }

    #[inline]
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if self.splice == Splice::First {
            self.splice = Splice::No;
            return self.push(",");
        }
        self.comma(first)
    }

    #[inline]
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.comma(first)
    }

    #[inline]
    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.push(fragment)
    }
}

/// Appends a finite double as ECMAScript's Number::toString writes it (serde_json writes
/// `null` for non-finite values before reaching the formatter).
#[inline]
pub(crate) fn write_js_number(out: &mut String, value: f64) {
    if value == 0.0 {
        out.push('0');
        return;
    }
    // Fast path: serde_json's own shortest digits. Without an exponent they are exactly
    // JavaScript's, except that integers end in `.0`; serde_json switches to exponents in a
    // narrower range than JavaScript (below 1e-5 and from 1e16), which the general path below
    // handles.
    let mut digits = [0u8; 32];
    let mut free = &mut digits[..];
    if serde_json::ser::CompactFormatter
        .write_f64(&mut free, value)
        .is_ok()
    {
        let len = 32 - free.len();
        if let Ok(shortest) = std::str::from_utf8(&digits[..len]) {
            if !shortest.as_bytes().contains(&b'e') {
                out.push_str(shortest.strip_suffix(".0").unwrap_or(shortest));
                return;
            }
        }
    }
    write_js_exponent(out, value);
}

/// [`write_js_number`] for the values ryu prints with an exponent.
fn write_js_exponent(out: &mut String, value: f64) {
    // Rust's `{:e}` gives the shortest round-trip digits: `d[.ddd]e<exp>`.
    let sci = format!("{:e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp + 1;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    /// What serde_json says of `b`: `IgnoredAny`, then nothing but whitespace.
    fn serde_accepts(b: &[u8]) -> bool {
        let mut de = serde_json::Deserializer::from_slice(b);
        serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
    }

    #[track_caller]
    fn agrees(text: &[u8]) -> bool {
        let ours = validate(text).is_ok();
        assert_eq!(
            ours,
            serde_accepts(text),
            "validate and serde_json disagree on {:?}",
            String::from_utf8_lossy(text)
        );
        ours
    }

    #[test]
    fn validator_accepts_what_serde_json_accepts() {
        let valid: &[&str] = &[
            "0",
            "-0",
            "1",
            "-12.5e+3",
            "0.5",
            "1E9",
            "1e-0",
            "123456789012345678901234567890",
            "true",
            "false",
            "null",
            r#""""#,
            r#""a\"\\\/\b\f\n\r\t""#,
            r#""\u00e9\uD83D\uDE00""#,
            r#""\uD800""#,
            "\"\u{e9}\u{1F600}\"",
            "[]",
            "{}",
            " [ ] ",
            "\t\n\r [1, \"a\" , {\"k\" : [null,true,false]} ]\n",
            r#"["echo",{"msg":"hello","n":1}]"#,
            r#"{"a":{"b":{"c":[[],{}]}}}"#,
            r#"[{"_placeholder":true,"num":0}]"#,
            r#"{"":""}"#,
            "[0,-0,0.0,1e5]",
        ];
        for text in valid {
            assert!(agrees(text.as_bytes()), "{text}");
        }
        let invalid: &[&str] = &[
            "",
            " ",
            "[",
            "]",
            "{",
            "}",
            "[1,]",
            "[,1]",
            "[1 2]",
            r#"{"a":1,}"#,
            r#"{"a"}"#,
            r#"{"a" 1}"#,
            "{a:1}",
            "{1:1}",
            "[}",
            "{]",
            "[1]]",
            "[1]x",
            "01",
            "-01",
            "-",
            "+1",
            "1.",
            ".5",
            "1e",
            "1e+",
            "1.e5",
            "0x10",
            "tru",
            "nul",
            "nulll",
            "True",
            "NaN",
            "Infinity",
            "\"abc",
            r#""\x""#,
            r#""\u12""#,
            r#""\u12G4""#,
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "[1]\u{0}",
            "1 2",
            "\u{feff}1",
            r#"["a",]"#,
            r#"{"a":}"#,
            "{,}",
            "[-]",
            "[1.5e]",
            r#"["\"]"#,
        ];
        for text in invalid {
            assert!(!agrees(text.as_bytes()), "{text}");
        }
        // Bytes inside strings are not UTF-8-checked by either; outside, they are refused.
        assert!(agrees(b"[\"\xff\"]"));
        assert!(!agrees(b"[\xff]"));
    }

    #[test]
    fn validator_finds_string_specials_at_every_offset_of_a_word() {
        // Long strings are scanned eight bytes at a time: a quote, a backslash or a control
        // character at any offset, next to multi-byte characters (high bits set) and to
        // bytes just above the control range, must be seen where it is.
        for len in 0..24 {
            for at in 0..=len {
                for special in ["\"", "\\n", "\\u0041", "\u{1}", "\u{1f}", "\t"] {
                    for filler in ["a", "\u{e9}", " ", "\u{7f}", "!"] {
                        let mut body = filler.repeat(len);
                        // Keep it on a char boundary: fillers are 1 or 2 bytes.
                        let cut = body.char_indices().nth(at).map_or(body.len(), |(i, _)| i);
                        body.insert_str(cut, special);
                        let text = format!("[\"{body}\",1]");
                        agrees(text.as_bytes());
                    }
                }
            }
        }
    }

    #[test]
    fn validator_nests_deeper_than_a_word() {
        for depth in [1, 2, 63, 64, 65, 127, 128, 129, 200, 1000] {
            let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert!(agrees(arrays.as_bytes()), "{depth}");
            // Objects and arrays alternating: each level must close with its own bracket.
            let mut open = String::new();
            let mut close = String::new();
            for level in 0..depth {
                if level % 3 == 1 {
                    open.push_str("{\"k\":");
                    close.insert(0, '}');
                } else {
                    open.push('[');
                    close.insert(0, ']');
                }
            }
            let mixed = format!("{open}1{close}");
            assert!(agrees(mixed.as_bytes()), "{depth}");
            // The same with one closer swapped, at the innermost and the outermost level.
            for at in [0, close.len() - 1] {
                let mut wrong = close.clone().into_bytes();
                wrong[at] = if wrong[at] == b']' { b'}' } else { b']' };
                let text = [open.as_bytes(), b"1", &wrong].concat();
                assert!(!agrees(&text), "{depth} {at}");
            }
            assert!(!agrees(&arrays.as_bytes()[..arrays.len() - 1]), "{depth}");
        }
    }

    /// `value` written by [`JsonWriter`], as the encoder writes it.
    fn written<T: serde::Serialize + ?Sized>(value: &T, splice: Splice) -> String {
        let mut out = String::from("[\"ev\"");
        let mut ser =
            serde_json::Serializer::with_formatter(Refuse, JsonWriter::new(&mut out, splice));
        value.serialize(&mut ser).unwrap();
        out
    }

    /// Every method of the formatter (integers of every width, floats, chars, byte arrays,
    /// map keys that are numbers or booleans, escapes, enums) writes what serde_json's own
    /// compact formatter writes, and nothing goes to the writer underneath.
    #[test]
    fn writer_writes_what_serde_json_writes() {
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(i8, i16),
            Struct { a: i32 },
        }
        #[derive(serde::Serialize)]
        struct All<'a> {
            i: (i8, i16, i32, i64, i128),
            u: (u8, u16, u32, u64, u128),
            extremes: (i64, u64, i128, u128),
            floats: (f32, f64, f64),
            c: (char, char),
            #[serde(with = "serde_bytes_as_array")]
            b: &'a [u8],
            none: Option<u8>,
            unit: (),
            e: [E; 4],
            int_keys: std::collections::BTreeMap<i32, bool>,
            bool_keys: std::collections::BTreeMap<bool, u8>,
            escapes: &'a str,
            raw_number: serde_json::Number,
        }
        mod serde_bytes_as_array {
            pub(super) fn serialize<S: serde::Serializer>(
                b: &[u8],
                s: S,
            ) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b)
            }
        }
        let all = All {
            i: (-8, -16, -32, -64, -128),
            u: (8, 16, 32, 64, 128),
            extremes: (i64::MIN, u64::MAX, i128::MIN, u128::MAX),
            floats: (1.5, -2.25, 0.5),
            c: ('x', '\u{e9}'),
            b: &[0, 1, 255],
            none: None,
            unit: (),
            e: [E::Unit, E::New(1), E::Tuple(-1, 2), E::Struct { a: 3 }],
            int_keys: [(1, true), (-2, false)].into_iter().collect(),
            bool_keys: [(true, 1)].into_iter().collect(),
            escapes: "q\" b\\ s/ \u{8}\u{c}\n\r\t \u{0}\u{1f}\u{7f} \u{e9}\u{20ac}\u{1F600}",
            raw_number: serde_json::Number::from(7),
        };
        let mut theirs = String::from("[\"ev\"");
        theirs.push_str(&serde_json::to_string(&all).unwrap());
        assert_eq!(written(&all, Splice::No), theirs);
    }

    /// A spliced array continues the list: its elements follow the ones written, nested
    /// arrays keep their brackets, an empty one adds nothing.
    #[test]
    fn spliced_arrays_continue_the_list() {
        assert_eq!(written(&(1, "a"), Splice::Pending), r#"["ev",1,"a"]"#);
        assert_eq!(written(&[[1], [2]], Splice::Pending), r#"["ev",[1],[2]]"#);
        assert_eq!(
            written(&((), [0u8; 0]), Splice::Pending),
            r#"["ev",null,[]]"#
        );
        assert_eq!(written(&[[0u8; 0]], Splice::Pending), r#"["ev",[]]"#);
        assert_eq!(written(&[0u8; 0], Splice::Pending), r#"["ev"]"#);
        assert_eq!(written(&[1], Splice::No), r#"["ev"[1]"#);
    }

    /// Write errors are not swallowed: serde_json's own writes (there are none today) would
    /// fail the encode.
    #[test]
    fn refuse_refuses() {
        use std::io::Write;
        assert!(Refuse.write_all(b"x").is_err());
        assert!(Refuse.write_all(b"").is_ok());
    }

    proptest! {
        /// JSON-ish byte strings (mostly the tokens that matter to the grammar) get the same
        /// verdict from both.
        #[test]
        fn validator_agrees_with_serde_json(
            parts in prop::collection::vec(prop::sample::select(vec![
                "[", "]", "{", "}", ",", ":", " ", "\"", "\\", "\\u", "00e9", "\"k\"",
                "\"v\":", "0", "1", "-", ".", "e", "+", "12", "true", "false", "null", "tru",
                "\n", "\u{1}", "x", "\u{e9}",
            ]), 0..24)
        ) {
            agrees(parts.concat().as_bytes());
        }

        /// Strings of any characters (quotes, backslashes and control characters included)
        /// get the same verdict from both.
        #[test]
        fn validator_agrees_on_strings(body in "[\\PC\u{0}-\u{1f}\"\\\\]{0,40}") {
            agrees(format!("[\"{body}\"]").as_bytes());
        }

        /// Values without floats (strings with any characters) are written byte for byte as
        /// serde_json writes them.
        #[test]
        fn writer_agrees_with_serde_json(v in json_value(), s in "[\\PC\u{0}-\u{1f}\"\\\\/]{0,12}") {
            let v = serde_json::Value::Array(vec![without_floats(v), serde_json::Value::String(s)]);
            let mut theirs = String::from("[\"ev\"");
            theirs.push_str(&serde_json::to_string(&v).unwrap());
            prop_assert_eq!(written(&v, Splice::No), theirs);
        }

        /// Serialized values are accepted, and cut short they get the same verdict from both.
        #[test]
        fn validator_accepts_serialized_values(
            v in json_value(),
            cut in any::<prop::sample::Index>(),
        ) {
            let text = serde_json::to_vec(&v).unwrap();
            prop_assert!(agrees(&text));
            agrees(&text[..cut.index(text.len() + 1)]);
        }
    }

    /// `v` with its floats made integers (ours prints floats as JavaScript does).
    fn without_floats(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) if n.is_f64() => Value::from(n.as_f64().unwrap_or(0.0) as i64),
            Value::Array(a) => Value::Array(a.into_iter().map(without_floats).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, without_floats(v))).collect())
            }
            other => other,
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn js(v: f64) -> String {
        let mut out = String::new();
        write_js_number(&mut out, v);
        out
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
