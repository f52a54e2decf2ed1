//! TLS for `https`/`wss` servers: rustls (ring) over the runtime's TCP stream, the same on
//! every runtime.

use std::fmt;
use std::io;
use std::sync::Arc;

use futures_rustls::rustls::pki_types::pem::PemObject;
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName};
use futures_rustls::rustls::{ClientConfig, RootCertStore};
use futures_rustls::TlsConnector;

use crate::runtime::BoxIo;

/// Which certificate authorities a client trusts (beside the ones added with
/// [`super::ClientBuilder::add_root_certificate_pem`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsRoots {
    /// Mozilla's root store, built in (`webpki-roots`): the same on every machine (the
    /// default).
    #[default]
    WebPki,
    /// The operating system's store (`rustls-native-certs`).
    System,
    /// None: only the certificates added by hand.
    None,
}

/// TLS settings, turned into a connector when a secure URL needs one.
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    pub(crate) roots: TlsRoots,
    pub(crate) extra: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("roots", &self.roots)
            .field("extra", &self.extra.len())
            .finish()
    }
}

impl TlsOptions {
    /// Adds every certificate of a PEM text; errors when it holds none or one is malformed.
    pub(crate) fn add_pem(&mut self, pem: &[u8]) -> io::Result<()> {
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            self.extra.push(cert.map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("bad PEM: {e}"))
            })?);
            n += 1;
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no certificate in the PEM text",
            ));
        }
        Ok(())
    }
}

/// The connector of a client (none for plain URLs).
pub(crate) struct Tls(Option<TlsConnector>);

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Tls(on)"
        } else {
            "Tls(off)"
        })
    }
}

impl Tls {
    pub(crate) fn off() -> Tls {
        Tls(None)
    }

    pub(crate) fn new(options: &TlsOptions) -> io::Result<Tls> {
        let mut roots = RootCertStore::empty();
        match options.roots {
            TlsRoots::WebPki => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            TlsRoots::System => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no system root certificates: {:?}", found.errors),
                    ));
                }
                roots.add_parsable_certificates(found.certs);
            }
            TlsRoots::None => {}
        }
        for cert in &options.extra {
            roots
                .add(cert.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        let provider = Arc::new(futures_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls(Some(TlsConnector::from(Arc::new(config)))))
    }

    /// TLS over `io` to `host` (checked against the certificate).
    pub(crate) async fn wrap(&self, host: &str, io: BoxIo) -> io::Result<BoxIo> {
        let Some(connector) = &self.0 else {
            return Err(io::Error::other("TLS is not configured"));
        };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let stream = connector.connect(name, io).await?;
        Ok(Box::new(stream))
    }
}
