//! HTTPS and mutual TLS with rustls: the server side (this agent's certificate; callers' client certificates
//! verified against the configured CA), the client side (peers' servers verified against the CA; this
//! agent's certificate presented), the caller's identity read from its certificate, and demo certificates
//! (`baton agent certs`).
//!
//! A certificate names its holder by a DNS subject alternative name equal to the holder's id (`agent-1`,
//! `client`). A caller is the configured peer whose id its verified client certificate names; a peer's
//! server, when this agent calls it, must present a certificate that names the peer's id as well as the host
//! of its `url` (`peer_client_config`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
pub use rustls::ClientConfig;
use rustls::{DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::{TlsConfig, TlsFiles};
use crate::error::ServiceError;

/// The largest PEM file read (certificates and keys are a few KiB).
const MAX_PEM_BYTES: u64 = 1 << 20;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_pem(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(format!("{}: {} bytes, more than a PEM file of {MAX_PEM_BYTES} bytes", path.display(), meta.len()));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// PEM certificates from `path` (at least one).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in the file", path.display()));
    }
    Ok(certs)
}

/// A PEM private key from `path`.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| format!("{}: no usable PEM private key: {e}", path.display()))
}

/// Read and check an agent's `[tls]` files; errors are `(field, reason)`.
pub(crate) fn load_files(t: &TlsConfig) -> Result<TlsFiles, (String, String)> {
    let cert = load_certs(&t.cert).map_err(|r| ("cert".to_string(), r))?;
    let key = load_key(&t.key).map_err(|r| ("key".to_string(), r))?;
    let ca = load_certs(&t.ca).map_err(|r| ("ca".to_string(), r))?;
    let files = TlsFiles { cert, key: Arc::new(key), ca, client_auth: t.client_auth };
    // Build both configs once now, so a key that does not match its certificate or a CA that is not a
    // certificate authority fails at start, naming the field.
    server_config(&files).map_err(|r| ("cert".to_string(), r))?;
    client_config(&files.ca, Some((&files.cert, &files.key))).map_err(|r| ("ca".to_string(), r))?;
    Ok(files)
}

fn roots(ca: &[CertificateDer<'static>]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for c in ca {
        roots.add(c.clone()).map_err(|e| format!("not a usable CA certificate: {e}"))?;
    }
    Ok(roots)
}

/// The server's rustls config: this agent's certificate; with `client_auth`, callers must present a
/// certificate signed by the CA (the handshake fails otherwise). HTTP/2 or HTTP/1.1, as the client offers.
pub(crate) fn server_config(f: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if f.client_auth {
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(&f.ca)?), provider())
            .build()
            .map_err(|e| format!("client certificate verifier: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(f.cert.clone(), f.key.clone_key())
        .map_err(|e| format!("the certificate and its key do not make a server identity: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client's rustls config: servers verified against `ca` only (no public roots); `identity` (a certificate
/// chain and its key) presented when the server asks for a client certificate.
pub fn client_config(
    ca: &[CertificateDer<'static>],
    identity: Option<(&Vec<CertificateDer<'static>>, &PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots(ca)?);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(cert.clone(), key.clone_key())
            .map_err(|e| format!("the certificate and its key do not make a client identity: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Verifies the server of one peer: what any HTTPS client checks (the chain to the CA, validity, the host of
/// the URL), and then that the certificate names the peer's id as a DNS subject alternative name. So a party
/// that holds a certificate from the same CA for the same address, but for another id, cannot answer in the
/// peer's place.
#[derive(Debug)]
struct PeerServerVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    id: ServerName<'static>,
}

impl ServerCertVerifier for PeerServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        // The certificate already parsed and chained above; this is the peer-id check on top.
        rustls::client::verify_server_name(&ParsedCertificate::try_from(end_entity)?, &self.id)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The rustls config an agent calls peer `peer_id` with: its server verified against the CA, for the host of
/// its `url` and for the name `peer_id`; this agent's certificate presented.
pub(crate) fn peer_client_config(f: &TlsFiles, peer_id: &str) -> Result<ClientConfig, String> {
    let id = ServerName::try_from(peer_id.to_string())
        .map_err(|e| format!("peer id {peer_id:?} cannot be a certificate name: {e}"))?;
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(&f.ca)?), provider())
        .build()
        .map_err(|e| format!("server certificate verifier: {e}"))?;
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PeerServerVerifier { webpki, id }))
        .with_client_auth_cert(f.cert.clone(), f.key.clone_key())
        .map_err(|e| format!("the certificate and its key do not make a client identity: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Whether `e` (or an error it wraps) is a refused certificate: the TLS handshake failed on what the other
/// side presented, which no retry changes.
pub(crate) fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(rustls::Error::InvalidCertificate(_)) = err.downcast_ref::<rustls::Error>() {
            return true;
        }
        // `io::Error::source` skips the error it wraps (it returns that error's source): look inside.
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if is_certificate_error(inner) {
                return true;
            }
        }
        next = err.source();
    }
    false
}

/// The ids among `ids` that a caller's verified end-entity certificate names (DNS subject alternative names).
pub(crate) fn names_in_cert<'a>(cert: &CertificateDer<'_>, ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
        return Vec::new();
    };
    ids.filter(|id| ServerName::try_from(*id).is_ok_and(|name| ee.verify_is_valid_for_subject_name(&name).is_ok()))
        .map(str::to_string)
        .collect()
}

/// What [`make_demo_certs`] wrote.
#[derive(Clone, Debug)]
pub struct DemoCerts {
    /// The CA's certificate (`ca.pem`); its key is not kept.
    pub ca: PathBuf,
    /// Per holder: `(id, cert path, key path)`.
    pub holders: Vec<(String, PathBuf, PathBuf)>,
}

/// Make a demo CA and, for each id in `ids`, a certificate signed by it (`<id>.pem`, `<id>.key`) in `out`.
/// Each certificate names its holder by the DNS name `<id>` and is valid for `127.0.0.1`, `::1` and
/// `localhost` as a server; it serves both as server and as client certificate. The CA's private key is
/// dropped, so no further certificate can be signed by it. Keys are written with mode 0600.
pub fn make_demo_certs(out: &Path, ids: &[String]) -> Result<DemoCerts, ServiceError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    let internal = |e: rcgen::Error| ServiceError::Internal(format!("making certificates: {e}"));
    std::fs::create_dir_all(out).map_err(|e| ServiceError::io(out, e))?;
    let ca_key = KeyPair::generate().map_err(internal)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(internal)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "baton demo CA");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca_params.self_signed(&ca_key).map_err(internal)?;
    let ca_path = out.join("ca.pem");
    write_file(&ca_path, ca.pem().as_bytes(), false)?;
    let mut holders = Vec::new();
    for id in ids {
        let names = vec![id.clone(), "localhost".into(), "127.0.0.1".into(), "::1".into()];
        let mut params = CertificateParams::new(names)
            .map_err(|e| ServiceError::Internal(format!("{id:?} cannot be a certificate name: {e}")))?;
        params.distinguished_name.push(DnType::CommonName, id.as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(internal)?;
        let cert = params.signed_by(&key, &ca, &ca_key).map_err(internal)?;
        let (cert_path, key_path) = (out.join(format!("{id}.pem")), out.join(format!("{id}.key")));
        write_file(&cert_path, cert.pem().as_bytes(), false)?;
        write_file(&key_path, key.serialize_pem().as_bytes(), true)?;
        holders.push((id.clone(), cert_path, key_path));
    }
    Ok(DemoCerts { ca: ca_path, holders })
}

/// Write `bytes` to `path` atomically (temp file, fsync, rename, fsync of the directory).
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), ServiceError> {
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(&tmp).map_err(|e| ServiceError::io(&tmp, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| ServiceError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| ServiceError::io(path, e))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
