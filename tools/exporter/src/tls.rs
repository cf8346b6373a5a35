//! HTTPS for `/metrics`: a rustls server configuration from the web
//! configuration's `tls_server_config` (certificate chain and key, client
//! certificate policy, TLS versions). rustls does every cryptographic step;
//! the one verifier written here accepts any client certificate for the two
//! policies that do not verify chains (RequestClientCert,
//! RequireAnyClientCert), and still has rustls check that the client holds
//! the certificate's key.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};

use crate::web::{read_bounded, ClientAuth, TlsSettings, TlsVersion, WebConfigError};

/// The server configuration of `settings`; an error names the field of
/// `file` whose file does not load.
pub fn server_config(
    file: &Path,
    settings: &TlsSettings,
) -> Result<Arc<ServerConfig>, WebConfigError> {
    let fail = |field: &str, why: String| WebConfigError {
        file: file.to_path_buf(),
        field: format!("tls_server_config.{field}"),
        why,
    };
    // ring, not aws-lc-rs: it builds with cc alone and links into the
    // static FROM-scratch image; rustls marks it deprecated only for its
    // lack of post-quantum key exchange (X25519 and the NIST curves remain).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = load_certs(&settings.cert_file).map_err(|why| fail("cert_file", why))?;
    let key_pem = read_bounded(&settings.key_file).map_err(|why| {
        fail(
            "key_file",
            format!("{}: {why}", settings.key_file.display()),
        )
    })?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| fail("key_file", pem_error(&settings.key_file, "private key", e)))?;
    let verifier =
        client_verifier(settings, &provider).map_err(|why| fail("client_ca_file", why))?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (settings.min_version..=settings.max_version).contains(v))
    .map(|(_, v)| v)
    .collect();
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| fail("min_version", e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| {
            fail(
                "key_file",
                format!(
                    "{}: does not go with cert_file {} ({e})",
                    settings.key_file.display(),
                    settings.cert_file.display()
                ),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.ignore_client_order = settings.prefer_server_order;
    Ok(Arc::new(config))
}

fn pem_error(path: &Path, what: &str, e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => format!("{}: {io}", path.display()),
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{}: no PEM {what} in it", path.display())
        }
        other => format!("{}: not a PEM {what} ({other:?})", path.display()),
    }
}

/// Every certificate of a PEM file (the server's first, then its chain).
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_bounded(path).map_err(|why| format!("{}: {why}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, "certificate", e))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

fn client_verifier(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let algorithms = provider.signature_verification_algorithms;
    match settings.client_auth {
        ClientAuth::NoClientCert => Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            Ok(Arc::new(AnyClientCert {
                mandatory: settings.client_auth.requires(),
                algorithms,
            }))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let Some(ca) = &settings.client_ca_file else {
                return Err("missing".into());
            };
            let mut roots = RootCertStore::empty();
            for cert in load_certs(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: not a usable CA certificate ({e})", ca.display()))?;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
            let builder = if settings.client_auth.requires() {
                builder
            } else {
                builder.allow_unauthenticated()
            };
            builder
                .build()
                .map_err(|e| format!("{}: {e}", ca.display()))
        }
    }
}

/// RequestClientCert and RequireAnyClientCert: a certificate is asked for
/// (and required by the second) but its chain is not checked; the
/// handshake signature still is, by rustls, so the client holds its key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
