//! Argument shapes as a JavaScript peer means them: what `emit`/`ack` values become on the
//! wire, and what a handler's type reads from what a JavaScript peer sends.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketio_proto::{AckId, Args, Binary, Decoder, Encoded, Encoder, Nsp, Packet};

fn event<T: ?Sized + Serialize>(args: &T) -> String {
    let e = Encoder::default()
        .event(&Nsp::main(), "ev", args, None)
        .unwrap();
    e.text().to_string()
}

fn ack<T: ?Sized + Serialize>(args: &T) -> String {
    let e = Encoder::default()
        .ack(&Nsp::main(), AckId(1), args)
        .unwrap();
    e.text().to_string()
}

fn packet(text: &str) -> Packet {
    Decoder::default()
        .decode_text(text.into())
        .unwrap()
        .into_packet()
        .expect("complete")
}

fn decode_all(e: &Encoded) -> Packet {
    let mut dec = Decoder::default();
    let mut out = dec.decode_text(e.text().clone()).unwrap();
    for a in e.attachments() {
        out = dec.decode_binary(a.clone()).unwrap();
    }
    out.into_packet().expect("complete")
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Marker;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Pair(u32, String);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Scores(Vec<u32>);

#[test]
fn vec_is_one_argument() {
    let encoded = Encoder::default()
        .event(&Nsp::main(), "scores", &vec![1, 2, 3], None)
        .unwrap();
    assert_eq!(&encoded.text()[..], r#"2["scores",[1,2,3]]"#);
    assert_eq!(event(&Vec::<u32>::new()), r#"2["ev",[]]"#);
    assert_eq!(event(&vec![json!(1), json!("a")]), r#"2["ev",[1,"a"]]"#);
    // Slices and `Value::Array` too.
    assert_eq!(event(&[1, 2, 3][..]), r#"2["ev",[1,2,3]]"#);
    assert_eq!(event(&json!([1, 2, 3])), r#"2["ev",[1,2,3]]"#);
    assert_eq!(event(&json!([])), r#"2["ev",[]]"#);
    // A newtype around a `Vec` is that one array.
    assert_eq!(event(&Scores(vec![1, 2])), r#"2["ev",[1,2]]"#);
}

#[test]
fn tuple_is_several_arguments() {
    assert_eq!(event(&(1, 2, 3)), r#"2["ev",1,2,3]"#);
    assert_eq!(event(&(1,)), r#"2["ev",1]"#);
    assert_eq!(event(&(vec![1, 2],)), r#"2["ev",[1,2]]"#);
    assert_eq!(
        event(&(vec![1], "a", None::<u8>)),
        r#"2["ev",[1],"a",null]"#
    );
    // A tuple struct is serde's tuple form as well.
    assert_eq!(event(&Pair(1, "a".into())), r#"2["ev",1,"a"]"#);
}

/// serde writes `[T; N]` as a tuple and nothing downstream can tell them apart: a fixed-size
/// array is several arguments, like a tuple. A slice or a `Vec` of it is one.
#[test]
fn fixed_size_array_is_several_arguments_like_a_tuple() {
    assert_eq!(event(&[1, 2, 3]), r#"2["ev",1,2,3]"#);
    assert_eq!(event(&[0u8; 0]), r#"2["ev"]"#);
    assert_eq!(event(&([1, 2, 3],)), r#"2["ev",[1,2,3]]"#);
    assert_eq!(
        packet(r#"2["ev",1,2,3]"#).args::<[u32; 3]>().unwrap(),
        [1, 2, 3]
    );
}

#[test]
fn unit_is_no_argument() {
    assert_eq!(event(&()), r#"2["ev"]"#);
    assert_eq!(event(&Marker), r#"2["ev"]"#);
    assert_eq!(ack(&()), "31[]");
    packet(r#"2["ev",1,2]"#).args::<()>().unwrap();
    packet(r#"2["ev"]"#).args::<()>().unwrap();
    assert_eq!(packet(r#"2["ev",1]"#).args::<Marker>().unwrap(), Marker);
}

#[test]
fn none_and_null_are_one_null_argument() {
    assert_eq!(event(&None::<u32>), r#"2["ev",null]"#);
    assert_eq!(event(&Value::Null), r#"2["ev",null]"#);
    assert_eq!(event(&json!(null)), r#"2["ev",null]"#);
    assert_eq!(ack(&None::<u32>), "31[null]");
    assert_eq!(ack(&Value::Null), "31[null]");
    // An `Option` is one argument whatever it holds.
    assert_eq!(event(&Some(5)), r#"2["ev",5]"#);
    assert_eq!(event(&Some((1, 2))), r#"2["ev",[1,2]]"#);
    assert_eq!(event(&(None::<u32>,)), r#"2["ev",null]"#);
}

#[test]
fn other_values_are_one_argument() {
    assert_eq!(event(&"s"), r#"2["ev","s"]"#);
    assert_eq!(event(&7), r#"2["ev",7]"#);
    assert_eq!(event(&json!({"a": 1})), r#"2["ev",{"a":1}]"#);
    let mut map = std::collections::BTreeMap::new();
    map.insert("k", 1);
    assert_eq!(event(&map), r#"2["ev",{"k":1}]"#);
}

#[test]
fn args_is_a_variable_argument_list() {
    assert_eq!(event(&Args(vec![1, 2, 3])), r#"2["ev",1,2,3]"#);
    assert_eq!(event(&Args::<u8>::new()), r#"2["ev"]"#);
    assert_eq!(
        event(&Args(vec![json!([1, 2]), json!(null)])),
        r#"2["ev",[1,2],null]"#
    );
    assert_eq!(ack(&Args(vec![1, 2])), "31[1,2]");
    assert_eq!(ack(&Args::<u8>::new()), "31[]");
    // Inside a tuple, `Args` is one array like a `Vec`.
    assert_eq!(event(&(0, Args(vec![1, 2]))), r#"2["ev",0,[1,2]]"#);
    // Outside this crate it is its `Vec`.
    assert_eq!(serde_json::to_string(&Args(vec![1, 2])).unwrap(), "[1,2]");
    let back: Args<u8> = serde_json::from_str("[1,2]").unwrap();
    assert_eq!(back, Args(vec![1, 2]));
}

#[test]
fn args_carry_binary_both_ways() {
    let e = Encoder::default()
        .event(
            &Nsp::main(),
            "files",
            &Args(vec![Binary::from(vec![1u8]), Binary::from(vec![2u8, 3])]),
            None,
        )
        .unwrap();
    assert_eq!(
        &e.text()[..],
        r#"52-["files",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    let p = decode_all(&e);
    let Args(files): Args<Binary> = p.args().unwrap();
    assert_eq!(files, [Binary::from(vec![1u8]), Binary::from(vec![2u8, 3])]);
    // Zero copy: the elements are the attachments.
    assert_eq!(files[1].as_ptr(), p.attachments()[1].as_ptr());
    // As JSON values, binary arguments are their placeholders.
    let Args(values): Args = p.args().unwrap();
    assert_eq!(values[0], json!({"_placeholder": true, "num": 0}));
    let e = Encoder::default()
        .ack(
            &Nsp::main(),
            AckId(3),
            &Args(vec![Bytes::from_static(b"x")]),
        )
        .unwrap();
    assert_eq!(&e.text()[..], r#"61-3[{"_placeholder":true,"num":0}]"#);
}

#[test]
fn vec_handler_reads_one_array_argument() {
    let p = packet(r#"2["scores",[1,2,3]]"#);
    assert_eq!(p.args::<Vec<u32>>().unwrap(), vec![1, 2, 3]);
    assert_eq!(p.args::<Scores>().unwrap(), Scores(vec![1, 2, 3]));
    assert_eq!(p.args::<Value>().unwrap(), json!([1, 2, 3]));
    assert_eq!(p.args::<(Vec<u32>,)>().unwrap(), (vec![1, 2, 3],));
    // Several scalars are not one array: the first argument is read, and it is no `Vec`.
    let err = packet(r#"2["scores",1,2,3]"#)
        .args::<Vec<u32>>()
        .unwrap_err();
    assert!(!err.is_syntax());
    // The same rule for acks.
    let p = packet("31[[1,2,3],4]");
    assert_eq!(p.args::<Vec<u32>>().unwrap(), vec![1, 2, 3]);
    assert_eq!(p.args::<(Vec<u32>, u8)>().unwrap(), (vec![1, 2, 3], 4));
}

#[test]
fn tuple_handler_reads_several_arguments() {
    let p = packet(r#"2["ev",1,"a",[true]]"#);
    assert_eq!(
        p.args::<(u8, String, Vec<bool>)>().unwrap(),
        (1, "a".into(), vec![true])
    );
    assert_eq!(p.args::<Pair>().unwrap(), Pair(1, "a".into()));
    // Extra arguments are ignored, as JavaScript handlers ignore them.
    assert_eq!(p.args::<(u8,)>().unwrap(), (1,));
    // A parameter left out is `undefined`: `None` for an `Option`, an error otherwise.
    let p = packet(r#"2["ev",1]"#);
    assert_eq!(
        p.args::<(u8, Option<String>, Option<u8>)>().unwrap(),
        (1, None, None)
    );
    assert_eq!(p.args::<(u8, ())>().unwrap(), (1, ()));
    assert!(!p.args::<(u8, String)>().unwrap_err().is_syntax());
}

#[test]
fn single_handler_reads_the_first_of_several() {
    let p = packet(r#"2["ev",{"a":1},2,3]"#);
    assert_eq!(p.args::<Value>().unwrap(), json!({"a": 1}));
    assert_eq!(p.args::<Option<Value>>().unwrap(), Some(json!({"a": 1})));
    let p = packet(r#"2["ev","x","y"]"#);
    assert_eq!(p.args::<String>().unwrap(), "x");
}

#[test]
fn missing_first_argument() {
    let p = packet(r#"2["ev"]"#);
    assert_eq!(p.args::<Option<u32>>().unwrap(), None);
    assert_eq!(p.args::<Option<Vec<u32>>>().unwrap(), None);
    p.args::<()>().unwrap();
    assert_eq!(p.args::<Args>().unwrap(), Args::new());
    for err in [
        p.args::<u32>().unwrap_err(),
        p.args::<Vec<u32>>().map(drop).unwrap_err(),
        p.args::<Value>().map(drop).unwrap_err(),
    ] {
        assert!(!err.is_syntax());
        assert!(err.to_string().contains("missing argument"), "{err}");
    }
}

#[test]
fn null_argument_reads_as_none_or_null() {
    let p = packet(r#"2["ev",null]"#);
    assert_eq!(p.args::<Option<u32>>().unwrap(), None);
    assert_eq!(p.args::<Value>().unwrap(), Value::Null);
    assert_eq!(p.args::<Args>().unwrap(), Args(vec![Value::Null]));
    assert_eq!(p.args::<(Option<u8>,)>().unwrap(), (None,));
}

#[test]
fn args_handler_reads_every_argument() {
    let p = packet(r#"2["ev",1,[2],{"3":null},null]"#);
    let Args(all): Args = p.args().unwrap();
    assert_eq!(all, [json!(1), json!([2]), json!({"3": null}), Value::Null]);
    let p = packet(r#"2["ev",1,2,3]"#);
    assert_eq!(p.args::<Args<u8>>().unwrap(), Args(vec![1, 2, 3]));
    let p = packet("31[[1],[]]");
    assert_eq!(
        p.args::<Args<Vec<u8>>>().unwrap(),
        Args(vec![vec![1], vec![]])
    );
}

/// What one side encodes, the other reads back with the matching type.
#[test]
fn shapes_round_trip() {
    let mut enc = Encoder::default();
    let nsp = Nsp::main();
    let p = decode_all(&enc.event(&nsp, "e", &vec![1u32, 2, 3], None).unwrap());
    assert_eq!(p.args::<Vec<u32>>().unwrap(), [1, 2, 3]);
    let p = decode_all(&enc.event(&nsp, "e", &(1u32, "b"), None).unwrap());
    assert_eq!(p.args::<(u32, String)>().unwrap(), (1, "b".into()));
    let p = decode_all(&enc.event(&nsp, "e", &None::<u32>, None).unwrap());
    assert_eq!(p.args::<Option<u32>>().unwrap(), None);
    assert_eq!(p.args::<Args>().unwrap(), Args(vec![Value::Null]));
    let p = decode_all(&enc.event(&nsp, "e", &(), None).unwrap());
    assert_eq!(p.args::<Args>().unwrap(), Args::new());
    let p = decode_all(&enc.event(&nsp, "e", &Marker, None).unwrap());
    assert_eq!(p.args::<Marker>().unwrap(), Marker);
    let p = decode_all(&enc.ack(&nsp, AckId(2), &vec!["a", "b"]).unwrap());
    assert_eq!(p.args::<Vec<String>>().unwrap(), ["a", "b"]);
}
