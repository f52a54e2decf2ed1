//! The WebSocket size guard on arbitrary bytes and read sizes: no panic, never more passed
//! than given, and cutting the stream into reads changes nothing but where, within the cut
//! frame's header, the stream stops.
#![no_main]

use engineio_proto::ws_guard::WsSizeGuard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [l0, l1, chunk, stream @ ..] = data else {
        return;
    };
    let limit = usize::from(u16::from_le_bytes([*l0, *l1]));
    let chunk = usize::from(*chunk).max(1);
    let mut whole = WsSizeGuard::new(limit);
    let all = whole.filter(stream);
    assert!(all <= stream.len());
    let mut split = WsSizeGuard::new(limit);
    let mut passed = 0;
    for c in stream.chunks(chunk) {
        let keep = split.filter(c);
        assert!(keep <= c.len());
        passed += keep;
        if keep < c.len() {
            break;
        }
    }
    assert_eq!(whole.tripped(), split.tripped());
    assert!(passed >= all && passed - all < 14, "{passed} vs {all}");
});
