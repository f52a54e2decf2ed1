//! A protocol v4 client's namespace query, read as its auth.
//!
//! socket.io-client 2.x joins a namespace with `0/admin?token=abc,`: the query after the name
//! is all the auth it can send. The reference server hands protocol v4 connections
//! `Object.fromEntries(new URL(nsp, base).searchParams)` as the handshake's auth
//! (socket.io `lib/client.ts`, `_parseNamespace`, since 4.8.2; 4.8.1 and earlier used
//! `url.parse(nsp, true).query`, where a repeated key gave an array). What that yields, and
//! what this module reproduces:
//!
//! - Pairs are split on `&`; empty pieces are skipped. A pair splits at its first `=`; a key
//!   without `=` has the value `""`.
//! - `+` is a space; `%XX` (two hex digits) is that byte, any other `%` is itself; the bytes
//!   are read as UTF-8, an invalid sequence becoming U+FFFD.
//! - The query ends at a `#` (the URL's fragment). The URL parser drops ASCII tab, LF and CR
//!   anywhere, and trailing C0 controls and spaces at the end of its input (the query's end
//!   when there is no fragment).
//! - A repeated key keeps its last value (`fromEntries`) at the place it first appeared.
//! - Values are strings. Keys come in JavaScript's property order: array indices (`"0"`,
//!   `"42"`) first, ascending, then the others in order of appearance: the order of the JSON
//!   text (the parsed value's map is sorted unless serde_json's `preserve_order` is on).

use bytestring::ByteString;
use serde_json::{Map, Value};

/// The auth object of a protocol v4 CONNECT whose namespace carried `query` (`{}` without),
/// and its JSON text with the keys in JavaScript's order.
pub(crate) fn auth_from_query(query: Option<&str>) -> (Value, ByteString) {
    let Some(query) = query else {
        return (Value::Object(Map::new()), ByteString::from_static("{}"));
    };
    let query = match query.find('#') {
        Some(fragment) => &query[..fragment],
        // The query ends the URL: its trailing C0 controls and spaces are trimmed.
        None => query.trim_end_matches(|c: char| c <= ' '),
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter_map(|piece| {
            let piece = without_tabs_and_newlines(piece);
            if piece.is_empty() {
                return None;
            }
            let (key, value) = piece.split_once('=').unwrap_or((&piece, ""));
            Some((form_decode(key), form_decode(value)))
        })
        .collect();
    // JavaScript's property order: array indices first, ascending; the sort is stable, so the
    // other keys keep their order, and a repeated index its last value.
    pairs.sort_by_key(|(key, _)| array_index(key).map_or(u64::MAX, u64::from));
    // A repeated key keeps its first place and takes the last value.
    let mut ordered: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match ordered.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => ordered.push((key, value)),
        }
    }
    let mut text = String::from("{");
    let mut auth = Map::new();
    for (i, (key, value)) in ordered.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        // Strings always serialize.
        text.push_str(&serde_json::to_string(&key).unwrap_or_default());
        text.push(':');
        text.push_str(&serde_json::to_string(&value).unwrap_or_default());
        auth.insert(key, Value::String(value));
    }
    text.push('}');
    (Value::Object(auth), ByteString::from(text))
}

/// `piece` without ASCII tab, LF and CR, which the URL parser removes from its input.
fn without_tabs_and_newlines(piece: &str) -> std::borrow::Cow<'_, str> {
    if piece.contains(['\t', '\n', '\r']) {
        piece.replace(['\t', '\n', '\r'], "").into()
    } else {
        piece.into()
    }
}

/// `application/x-www-form-urlencoded` decoding of one key or value.
fn form_decode(text: &str) -> String {
    let b = text.as_bytes();
    if !b.iter().any(|&c| c == b'+' || c == b'%') {
        return text.to_owned();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (b.get(i + 1).and_then(hex), b.get(i + 2).and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn hex(c: &u8) -> Option<u8> {
    (*c as char).to_digit(16).map(|d| d as u8)
}

/// The array index `key` names in JavaScript (a canonical decimal below 2^32 - 1), if any.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|&n| n != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::{auth_from_query, ByteString, Value};
    use serde_json::json;

    /// Each case as the reference's `Object.fromEntries(new URL("/custom?" + query,
    /// "https://socket.io").searchParams)` gives it (checked with Node 20.20).
    #[test]
    fn v4_query_parses_as_the_reference_parses_it() {
        let cases: &[(&str, serde_json::Value)] = &[
            ("token=abc", json!({"token": "abc"})),
            ("token=abc&x=1", json!({"token": "abc", "x": "1"})),
            ("", json!({})),
            ("&&token=abc&", json!({"token": "abc"})),
            // No `=`: an empty value; an empty key is a key.
            ("flag", json!({"flag": ""})),
            ("flag&x=", json!({"flag": "", "x": ""})),
            ("=v", json!({"": "v"})),
            ("=", json!({"": ""})),
            // Only the first `=` splits.
            ("a=b=c", json!({"a": "b=c"})),
            // Repeated: the last value, at the first place.
            ("a=1&b=2&a=3", json!({"a": "3", "b": "2"})),
            // `+`, percent escapes, UTF-8 (raw and escaped), a bad escape kept, invalid UTF-8.
            ("t=a+b%20c%2B", json!({"t": "a b c+"})),
            ("t=%C3%A9&%C3%A9=%e2%82%ac", json!({"t": "é", "é": "€"})),
            ("t=é", json!({"t": "é"})),
            (
                "t=100%&u=%zz&v=%4",
                json!({"t": "100%", "u": "%zz", "v": "%4"}),
            ),
            ("t=%FF%C3", json!({"t": "\u{FFFD}\u{FFFD}"})),
            ("t=a%26b%3Dc", json!({"t": "a&b=c"})),
            // The fragment is not part of the query.
            ("token=abc#x=1", json!({"token": "abc"})),
            ("#x=1", json!({})),
            // Tab, LF and CR are dropped anywhere; trailing controls and spaces at the end.
            ("to\tken=a\nb\r", json!({"token": "ab"})),
            ("t=a b  ", json!({"t": "a b"})),
            ("t=a \u{1}", json!({"t": "a"})),
            ("t=a #", json!({"t": "a "})),
            ("t=%20", json!({"t": " "})),
        ];
        for (query, want) in cases {
            let (auth, text) = auth_from_query(Some(query));
            assert_eq!(&auth, want, "{query:?}");
            let reparsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(&reparsed, want, "{query:?}: {text}");
        }
        assert_eq!(auth_from_query(None), (json!({}), ByteString::from("{}")));
    }

    /// JavaScript objects list array-index keys first, in ascending order: the JSON text, what
    /// a JS server echoing `socket.handshake.auth` would send, has that order.
    #[test]
    fn v4_query_keys_come_in_javascript_property_order() {
        let (auth, text) =
            auth_from_query(Some("b=1&10=x&a=2&2=y&01=z&4294967295=m&4294967294=n&b=3"));
        assert_eq!(
            auth,
            json!({"b": "3", "10": "x", "a": "2", "2": "y", "01": "z", "4294967295": "m", "4294967294": "n"})
        );
        assert_eq!(
            &*text,
            r#"{"2":"y","10":"x","4294967294":"n","b":"3","a":"2","01":"z","4294967295":"m"}"#
        );
    }
}
