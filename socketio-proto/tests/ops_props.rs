//! The fuzz target `socketio_ops` as a property: arbitrary operation sequences against the
//! server, its connections and a client keep every invariant.

use std::time::Instant;

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use socketio_proto::sim::ops::{run, SioOp};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_operations_keep_invariants(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut u = Unstructured::new(&bytes);
        let ops = Vec::<SioOp>::arbitrary(&mut u).unwrap_or_default();
        if let Err(e) = run(start(), &ops) {
            return Err(TestCaseError::fail(format!("{e}\n{ops:#?}")));
        }
    }
}
