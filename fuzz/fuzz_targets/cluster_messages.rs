//! The Redis adapter's message decoders on arbitrary bytes: typed errors, never a panic; what
//! decodes encodes to bytes that decode to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_cluster_proto::{Broadcast, Request, Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Broadcast::decode(data) {
        let again = Broadcast::decode(&b.encode()).expect("our broadcast decodes");
        assert_eq!(again, b);
    }
    if let Ok(r) = Request::decode(data) {
        let again = Request::decode(&r.encode()).expect("our request decodes");
        assert_eq!(again.request_id(), r.request_id());
    }
    if let Ok(r) = Response::decode(data) {
        let _ = Response::decode(&r.encode()).expect("our response decodes");
    }
});
