//! The official Engine.IO v3 conformance suite (socketio/engine.io-protocol, branch `v3`,
//! `test-suite`), ported case by case and run against the `conformance` example with EIO3
//! allowed.
//!
//! Every case runs on both runtimes, once against the tokio adapter and once against smol,
//! and once more against `socketio-embedded` (the machines on blocking threads, no runtime).

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/engineio_v3_conformance.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/engineio_v3_conformance.rs");
}

mod embedded {
    const RT: super::support::Rt = super::support::Rt::Embedded;
    include!("cases/engineio_v3_conformance.rs");
}
