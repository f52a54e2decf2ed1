//! The custom parser seam: a user's wire format around the default parser's packets.

use bytes::Bytes;
use engineio_proto::{Message, Packet as EioPacket};
use socketio_proto::custom::{CustomDecoder, CustomParser, PacketParts};
use socketio_proto::{
    AckId, Binary, Decoded, Decoder, DecoderConfig, EncodeError, Encoder, EncoderConfig, Nsp,
    PacketKind, ParseError, Parser,
};

/// Text messages reversed, binary messages unchanged.
#[derive(Debug)]
struct Reversed;

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

impl CustomParser for Reversed {
    fn name(&self) -> &str {
        "reversed"
    }
    fn encode(&self, packet: PacketParts) -> Result<Vec<Message>, EncodeError> {
        Ok(packet
            .to_default_messages()
            .into_iter()
            .map(|m| match m {
                Message::Text(t) => Message::Text(reverse(&t).into()),
                other => other,
            })
            .collect())
    }
    fn decoder(&self) -> Box<dyn CustomDecoder> {
        Box::new(ReversedDecoder(Decoder::default()))
    }
}

#[derive(Debug)]
struct ReversedDecoder(Decoder);

impl CustomDecoder for ReversedDecoder {
    fn decode(&mut self, message: Message) -> Result<Option<PacketParts>, ParseError> {
        let p = match message {
            Message::Text(t) => self.0.decode_text(reverse(&t).into())?,
            Message::Binary(b) => self.0.decode_binary(b)?,
        };
        Ok(p.into_packet().map(|p| PacketParts::from_packet(&p)))
    }
}

/// Hands back whatever parts it is given (to check what the machines accept).
#[derive(Debug)]
struct Forged;

impl CustomParser for Forged {
    fn name(&self) -> &str {
        "forged"
    }
    fn encode(&self, packet: PacketParts) -> Result<Vec<Message>, EncodeError> {
        Ok(packet.to_default_messages())
    }
    fn decoder(&self) -> Box<dyn CustomDecoder> {
        Box::new(ForgedDecoder)
    }
}

#[derive(Debug)]
struct ForgedDecoder;

impl CustomDecoder for ForgedDecoder {
    fn decode(&mut self, message: Message) -> Result<Option<PacketParts>, ParseError> {
        let Message::Text(data) = message else {
            return Ok(None);
        };
        Ok(Some(PacketParts::new(
            PacketKind::Event,
            Nsp::main(),
            None,
            Some(data.to_string()),
            Vec::new(),
        )))
    }
}

static REVERSED: Reversed = Reversed;
static FORGED: Forged = Forged;

fn text(p: &EioPacket) -> String {
    match p {
        EioPacket::Message(t) => t.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn packets_round_trip_through_a_custom_parser() {
    let parser = Parser::custom(&REVERSED);
    let mut enc = Encoder::new(EncoderConfig::default().with_parser(parser));
    let mut dec = Decoder::new(DecoderConfig::default().with_parser(parser));
    let file = Binary::from(vec![1u8, 2]);
    let packet = enc
        .event(&Nsp::from("/a"), "up", &("f", &file), Some(AckId(4)))
        .unwrap();
    assert_eq!(packet.parser(), parser);
    let messages: Vec<EioPacket> = packet.engineio_packets().collect();
    assert_eq!(messages.len(), 2);
    let owned: Vec<EioPacket> = packet.clone().into_engineio_packets().collect();
    assert_eq!(owned, messages, "taken or shared, the same messages");
    assert_eq!(
        text(&messages[0]),
        reverse(r#"51-/a,4["up","f",{"_placeholder":true,"num":0}]"#)
    );
    assert_eq!(messages[1], EioPacket::Binary(Bytes::from_static(&[1, 2])));
    let mut got = None;
    for m in messages {
        got = dec.decode(m).unwrap().into_packet();
    }
    let got = got.unwrap();
    assert_eq!(
        (got.nsp(), got.event_name(), got.ack_id()),
        ("/a", Some("up"), Some(AckId(4)))
    );
    let (name, data): (String, Binary) = got.args().unwrap();
    assert_eq!((name.as_str(), &data[..]), ("f", &[1u8, 2][..]));

    // The other kinds, and the recovery offset.
    let c = enc
        .connect(&Nsp::main(), Some(&serde_json::json!({"t": 1})))
        .unwrap();
    let c: Vec<String> = c.engineio_packets().map(|p| text(&p)).collect();
    assert_eq!(c, [reverse(r#"0{"t":1}"#)]);
    let d: Vec<String> = enc
        .disconnect(&Nsp::from("/a"))
        .engineio_packets()
        .map(|p| text(&p))
        .collect();
    assert_eq!(d, [reverse("1/a,")]);
    let plain = enc.event(&Nsp::main(), "e", &1, None).unwrap();
    let with: Vec<String> = plain
        .with_last_arg("off")
        .unwrap()
        .engineio_packets()
        .map(|p| text(&p))
        .collect();
    assert_eq!(with, [reverse(r#"2["e",1,"off"]"#)]);
    // Between parsers (a fleet message): the default form, and back.
    let default = plain.transcode(Parser::Default).unwrap();
    assert_eq!(&default.text()[..], r#"2["e",1]"#);
    assert_eq!(default.transcode(parser).unwrap(), plain);
}

#[test]
fn what_a_custom_parser_hands_back_meets_the_default_rules() {
    let parser = Parser::custom(&FORGED);
    let mut dec = Decoder::new(DecoderConfig::default().with_parser(parser));
    let ok = dec
        .decode_text(r#"["fine",1]"#.into())
        .unwrap()
        .into_packet()
        .unwrap();
    assert_eq!(ok.event_name(), Some("fine"));
    assert_eq!(
        dec.decode_text(r#"["disconnect"]"#.into()).err(),
        Some(ParseError::ReservedEventName)
    );
    assert_eq!(
        dec.decode_text(r#"{"not":"an array"}"#.into()).err(),
        Some(ParseError::InvalidPayload)
    );
    // Messages the custom decoder keeps for later are nothing yet.
    assert_eq!(
        dec.decode_binary(Bytes::from_static(&[1])).unwrap(),
        Decoded::Incomplete
    );
}

/// Counts its `encode` calls.
#[derive(Debug)]
struct Counting(std::sync::atomic::AtomicUsize);

impl CustomParser for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn encode(&self, packet: PacketParts) -> Result<Vec<Message>, EncodeError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(packet.to_default_messages())
    }
    fn decoder(&self) -> Box<dyn CustomDecoder> {
        Box::new(ReversedDecoder(Decoder::default()))
    }
}

static COUNTING: Counting = Counting(std::sync::atomic::AtomicUsize::new(0));

/// A packet is converted once, when it is encoded: a broadcast's recipients share it.
#[test]
fn a_custom_packet_is_converted_once_for_every_recipient() {
    let mut enc = Encoder::new(EncoderConfig::default().with_parser(Parser::custom(&COUNTING)));
    let packet = enc.event(&Nsp::main(), "news", &("x",), None).unwrap();
    for _ in 0..3 {
        let copy = packet.clone();
        let sent: Vec<String> = copy.engineio_packets().map(|p| text(&p)).collect();
        assert_eq!(sent, [r#"2["news","x"]"#]);
    }
    assert_eq!(COUNTING.0.load(std::sync::atomic::Ordering::Relaxed), 1);
}
