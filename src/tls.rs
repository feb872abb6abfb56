//! TLS identities and configurations, in one place for everything in zc that speaks TLS:
//! the `tls` transfer mode, `zc serve`'s TLS listener, and zc's own Kafka client.
//!
//! A server needs a certificate and its key. By default zc makes a throwaway self-signed
//! one for `localhost` and `127.0.0.1` once per process ([`throwaway`]: an ECDSA P-256 key,
//! a few milliseconds, never written anywhere unless a caller asks; `zc serve --tls` writes
//! the certificate out for clients to trust). A user's own certificate and key come from
//! PEM files ([`Identity::from_pem_files`]). Either way the server speaks TLS 1.3 only,
//! with rustls's *ring* provider (AES-GCM and ChaCha20 in ring's assembly).
//!
//! A client trusts exactly one CA file ([`client_trusting`]) or this process's throwaway
//! certificate ([`client_trusting_throwaway`]): nothing here consults the system's roots.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The name the throwaway certificate is for, and that zc's clients check by default.
pub const SERVER_NAME: &str = "localhost";

/// A server's certificate chain and key, ready to serve.
pub struct Identity {
    /// The chain in PEM, for clients (kcat, librdkafka) to trust.
    pub cert_pem: String,
    /// The first certificate of the chain, for an in-process client to trust.
    leaf: CertificateDer<'static>,
    server: Arc<ServerConfig>,
}

/// This process's throwaway identity, made on first use. An error only if the crypto
/// provider fails, which it should not.
pub fn throwaway() -> Result<&'static Identity, String> {
    static IDENTITY: OnceLock<Result<Identity, String>> = OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            let made = rcgen::generate_simple_self_signed(vec![
                SERVER_NAME.to_string(),
                "127.0.0.1".to_string(),
            ])
            .map_err(|e| format!("cannot make the throwaway TLS certificate: {e}"))?;
            let key =
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
            Identity::new(vec![made.cert.der().clone()], key, made.cert.pem())
                .map_err(|e| format!("{e:#}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

impl Identity {
    /// A certificate chain and key from PEM files (`zc serve --tls-cert/--tls-key`).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect())
            .with_context(|| {
                format!(
                    "cannot read the TLS certificate {}: expected PEM \
                     (-----BEGIN CERTIFICATE-----)",
                    cert.display()
                )
            })?;
        if chain.is_empty() {
            bail!(
                "{}: no certificate in it (expected a PEM block -----BEGIN CERTIFICATE-----)",
                cert.display()
            );
        }
        let private = PrivateKeyDer::from_pem_file(key).with_context(|| {
            format!(
                "cannot read the TLS private key {}: expected a PEM private key (PKCS#8, \
                 PKCS#1 or SEC1)",
                key.display()
            )
        })?;
        let pem = std::fs::read_to_string(cert)
            .with_context(|| format!("cannot read {}", cert.display()))?;
        Identity::new(chain, private, pem).with_context(|| {
            format!(
                "the key {} does not fit the certificate {}",
                key.display(),
                cert.display()
            )
        })
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_pem: String,
    ) -> Result<Identity> {
        let leaf = chain[0].clone();
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .context("cannot build the TLS server configuration")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("cannot build the TLS server configuration")?;
        // Nothing here resumes sessions: no tickets, no extra records after the handshake.
        server.send_tls13_tickets = 0;
        Ok(Identity {
            cert_pem,
            leaf,
            server: Arc::new(server),
        })
    }

    /// The server side of a TLS 1.3 connection with this identity.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server.clone()
    }
}

/// rustls's *ring* provider: AES-GCM and ChaCha20 with ring's assembly, no C toolchain.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS 1.3 client that trusts exactly this process's throwaway certificate: the
/// receiving end of the `tls` mode (`zc bench`'s sink, the tests).
pub fn client_trusting_throwaway() -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots
        .add(throwaway()?.leaf.clone())
        .map_err(|e| format!("cannot trust the throwaway certificate: {e}"))?;
    client(roots).map_err(|e| format!("{e:#}"))
}

/// A TLS 1.3 client that trusts the certificates of one PEM file (`--tls-ca`).
pub fn client_trusting(ca: &Path) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "cannot read the CA file {}: expected PEM certificates (zc serve --tls \
                 prints where it wrote its own)",
                ca.display()
            )
        })?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        bail!(
            "{}: no usable CA certificate in it (expected PEM -----BEGIN CERTIFICATE-----)",
            ca.display()
        );
    }
    client(roots)
}

fn client(roots: RootCertStore) -> Result<Arc<ClientConfig>> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("cannot build the TLS client configuration")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Why a server's handshake failed, in words that point at the fix.
pub fn handshake_failure(e: &rustls::Error) -> &'static str {
    match e {
        rustls::Error::InvalidMessage(_) => {
            "the peer does not speak TLS (its first bytes are not a TLS record): is it a \
             plaintext client?"
        }
        rustls::Error::AlertReceived(_) => {
            "the client refused the handshake with an alert: does it trust the server's \
             certificate (its CA file), and does it allow TLS 1.3?"
        }
        rustls::Error::PeerIncompatible(_) => {
            "the client offers nothing in common with TLS 1.3 (version, cipher suite or \
             key exchange)"
        }
        _ => "the TLS handshake failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_pair_written_by_the_throwaway_loads_back_and_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key, wrong) = (
            dir.path().join("c.pem"),
            dir.path().join("k.pem"),
            dir.path().join("w.pem"),
        );
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        std::fs::write(&wrong, other.signing_key.serialize_pem()).unwrap();
        Identity::from_pem_files(&cert, &key).unwrap();
        let Err(err) = Identity::from_pem_files(&cert, &wrong) else {
            panic!("a key of another certificate was accepted");
        };
        assert!(format!("{err:#}").contains("does not fit"), "{err:#}");
        let Err(err) = Identity::from_pem_files(&key, &key) else {
            panic!("a key was taken for a certificate");
        };
        assert!(format!("{err:#}").contains("no certificate"), "{err:#}");
        client_trusting(&cert).unwrap();
        let err = client_trusting(&key).expect_err("not a CA");
        assert!(format!("{err:#}").contains("no usable CA"), "{err:#}");
    }
}
