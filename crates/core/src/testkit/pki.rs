//! A throw-away STISC-like PKI: a root CA, an issuing CA, and system certificates in
//! every shape applicants send (good, expired, weak, forged, self-signed, CA-only).

use der::{Decode, Encode};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, PublicKeyData,
    SignatureAlgorithm, PKCS_RSA_SHA256,
};
use time::{Duration, OffsetDateTime};

/// A CA: its certificate and key.
pub struct Authority {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Authority {
    pub fn der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }
}

/// Root and issuing CA, named like STISC's.
pub struct Pki {
    pub root: Authority,
    pub issuing: Authority,
}

/// What a system certificate should look like.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    pub common_name: String,
    pub serial: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// RSA modulus size for an RSA key; `None` for an EC P-256 key.
    pub rsa_bits: Option<usize>,
    /// An e-mail address in the subject alternative name.
    pub email: Option<String>,
    /// A CRL distribution point (URI).
    pub crl_url: Option<String>,
}

impl LeafSpec {
    /// Valid for two years around `now`.
    pub fn valid_at(now: OffsetDateTime, common_name: &str, serial: &[u8]) -> LeafSpec {
        LeafSpec {
            common_name: common_name.to_string(),
            serial: serial.to_vec(),
            not_before: now - Duration::days(365),
            not_after: now + Duration::days(365),
            rsa_bits: None,
            email: None,
            crl_url: None,
        }
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "MD");
    dn.push(
        DnType::OrganizationName,
        "Serviciul Tehnologia Informației și Securitate Cibernetică",
    );
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = now - Duration::days(3650);
    params.not_after = now + Duration::days(3650);
    params
}

/// Key generation with ring cannot fail on a working system; a failure here is a broken
/// test machine, so it panics with that message.
fn new_key() -> KeyPair {
    KeyPair::generate().expect("generating an EC P-256 key")
}

impl Pki {
    /// A fresh PKI whose CAs are valid ten years either side of `now`.
    pub fn new(now: OffsetDateTime) -> Pki {
        Pki::named("STISC Root CA (test)", "STISC Issuing CA (test)", now)
    }

    pub fn named(root_cn: &str, issuing_cn: &str, now: OffsetDateTime) -> Pki {
        let root_key = new_key();
        let root_cert = ca_params(root_cn, now)
            .self_signed(&root_key)
            .expect("self-signing the root");
        let issuing_key = new_key();
        let issuing_cert = ca_params(issuing_cn, now)
            .signed_by(&issuing_key, &root_cert, &root_key)
            .expect("signing the issuing CA");
        Pki {
            root: Authority {
                cert: root_cert,
                key: root_key,
            },
            issuing: Authority {
                cert: issuing_cert,
                key: issuing_key,
            },
        }
    }

    /// Both CAs as the trust anchors the daemon would load from [`Pki::anchors_pem`].
    pub fn trust_anchors(&self) -> crate::certificate::TrustAnchors {
        crate::certificate::TrustAnchors::new(vec![
            crate::certificate::Certificate::from_der(&self.root.der()).expect("the root parses"),
            crate::certificate::Certificate::from_der(&self.issuing.der())
                .expect("the issuing CA parses"),
        ])
    }

    /// PEM of both CAs: the content of a `[trust] anchors` file.
    pub fn anchors_pem(&self) -> String {
        format!("{}{}", self.root.pem(), self.issuing.pem())
    }

    /// A CRL of the issuing CA, valid from `this_update` to `next_update`, listing
    /// `revoked` serials (`true`: on hold, i.e. suspended), in DER.
    pub fn crl(
        &self,
        revoked: &[(&[u8], bool)],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Vec<u8> {
        let revoked_certs = revoked
            .iter()
            .map(|(serial, hold)| rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(serial),
                revocation_time: this_update - Duration::hours(1),
                reason_code: Some(if *hold {
                    rcgen::RevocationReason::CertificateHold
                } else {
                    rcgen::RevocationReason::KeyCompromise
                }),
                invalidity_date: None,
            })
            .collect();
        rcgen::CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuing.cert, &self.issuing.key)
        .expect("signing a CRL")
        .der()
        .to_vec()
    }

    /// A system certificate issued by the issuing CA.
    pub fn leaf(&self, spec: &LeafSpec) -> Vec<u8> {
        issue(spec, &self.issuing)
    }
}

/// Issues an end-entity certificate from `authority`.
pub fn issue(spec: &LeafSpec, authority: &Authority) -> Vec<u8> {
    let params = leaf_params(spec);
    let cert = match spec.rsa_bits {
        Some(bits) => params.signed_by(
            &RsaPublicKey::with_bits(bits),
            &authority.cert,
            &authority.key,
        ),
        None => params.signed_by(&new_key(), &authority.cert, &authority.key),
    };
    cert.expect("issuing a certificate").der().to_vec()
}

/// A self-signed end-entity certificate (what people make with makecert or openssl).
pub fn self_signed(spec: &LeafSpec) -> Vec<u8> {
    let key = new_key();
    leaf_params(spec)
        .self_signed(&key)
        .expect("self-signing")
        .der()
        .to_vec()
}

/// A CA certificate on its own (people send the STISC root instead of their own).
pub fn lone_ca(now: OffsetDateTime) -> Vec<u8> {
    let key = new_key();
    ca_params("Some CA", now)
        .self_signed(&key)
        .expect("self-signing")
        .der()
        .to_vec()
}

fn leaf_params(spec: &LeafSpec) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(&spec.common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&spec.serial));
    if let Some(email) = &spec.email {
        params.subject_alt_names.push(rcgen::SanType::Rfc822Name(
            email.clone().try_into().expect("an ASCII e-mail address"),
        ));
    }
    if let Some(url) = &spec.crl_url {
        params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
            uris: vec![url.clone()],
        }];
    }
    params
}

/// An RSA public key of a chosen size. Only the public half is needed to be certified;
/// the modulus is a fixed odd pattern, which is all a certificate parser looks at.
struct RsaPublicKey {
    der: Vec<u8>,
}

impl RsaPublicKey {
    fn with_bits(bits: usize) -> RsaPublicKey {
        let mut modulus = vec![0u8; bits / 8];
        for (i, b) in modulus.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        modulus[0] |= 0x80;
        *modulus.last_mut().expect("modulus is not empty") |= 1;
        let mut modulus_int = vec![0u8];
        modulus_int.extend(modulus);
        let modulus = der::asn1::UintRef::new(&modulus_int).expect("modulus encodes");
        let exponent = der::asn1::UintRef::new(&[1, 0, 1]).expect("exponent encodes");
        let mut body = Vec::new();
        modulus.encode_to_vec(&mut body).expect("encoding modulus");
        exponent
            .encode_to_vec(&mut body)
            .expect("encoding exponent");
        let header = der::Header::new(der::Tag::Sequence, body.len()).expect("length fits");
        let mut der = Vec::new();
        header.encode_to_vec(&mut der).expect("encoding header");
        der.extend(body);
        RsaPublicKey { der }
    }
}

impl PublicKeyData for RsaPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.der
    }

    fn algorithm(&self) -> &SignatureAlgorithm {
        &PKCS_RSA_SHA256
    }
}

/// A certs-only PKCS#7 SignedData (`.p7b`) holding `certs`.
pub fn pkcs7(certs: &[Vec<u8>]) -> Vec<u8> {
    use cms::cert::x509::Certificate;
    use cms::content_info::ContentInfo;
    let parsed: Vec<Certificate> = certs
        .iter()
        .map(|d| Certificate::from_der(d).expect("test certificates parse"))
        .collect();
    ContentInfo::try_from(parsed)
        .expect("building SignedData")
        .to_der()
        .expect("encoding SignedData")
}

/// PEM armour for DER.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN {label}-----\r\n{}\r\n-----END {label}-----\r\n",
        lines.join("\r\n")
    )
}
