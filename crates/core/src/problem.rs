//! Problem codes: why something an applicant sent cannot be used. The names are a
//! contract with the tools that read `inspect --json`; never rename one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Expired,
    NotYetValid,
    UntrustedIssuer,
    BadSignature,
    /// RSA under 2048 bits or EC under 256 bits.
    WeakKey,
    /// A CA certificate sent on its own, with no end-entity certificate.
    CaCertificate,
    Revoked,
    /// Suspended by its authority (reversible: usable again once lifted).
    Suspended,
    /// PKCS#12/PFX or a private key: its bytes are never kept.
    PrivateKeySent,
    CsrNotCertificate,
    NotACertificate,
    /// An archive over the size, entry or nesting limits (a zip bomb, or simply too big).
    ArchiveTooLarge,
    /// An archive that cannot be read (corrupt or encrypted).
    ArchiveUnreadable,
    /// Registered for another service for another information system: a certificate
    /// is reused only for the same system.
    RegisteredForOtherSystem,
    /// Registered for another service in the other environment (test or production):
    /// a certificate is reused only in the same environment.
    RegisteredForOtherEnvironment,
}

impl Problem {
    pub fn code(self) -> &'static str {
        match self {
            Problem::Expired => "expired",
            Problem::NotYetValid => "not_yet_valid",
            Problem::UntrustedIssuer => "untrusted_issuer",
            Problem::BadSignature => "bad_signature",
            Problem::WeakKey => "weak_key",
            Problem::CaCertificate => "ca_certificate",
            Problem::Revoked => "revoked",
            Problem::Suspended => "suspended",
            Problem::PrivateKeySent => "private_key_sent",
            Problem::CsrNotCertificate => "csr_not_certificate",
            Problem::NotACertificate => "not_a_certificate",
            Problem::ArchiveTooLarge => "archive_too_large",
            Problem::ArchiveUnreadable => "archive_unreadable",
            Problem::RegisteredForOtherSystem => "registered_for_other_system",
            Problem::RegisteredForOtherEnvironment => "registered_for_other_environment",
        }
    }

    /// One line for a clerk reading `inspect` output.
    pub fn explain(self) -> &'static str {
        match self {
            Problem::Expired => "the certificate has expired",
            Problem::NotYetValid => "the certificate is not valid yet",
            Problem::UntrustedIssuer => "not issued by a trusted STISC authority",
            Problem::BadSignature => "the issuer's signature does not verify (altered or forged)",
            Problem::WeakKey => "the key is too weak (RSA < 2048 or EC < 256 bits)",
            Problem::CaCertificate => "a CA certificate, not the system certificate",
            Problem::Revoked => "the certificate is revoked",
            Problem::Suspended => "the certificate is suspended (usable again once lifted)",
            Problem::PrivateKeySent => "a private key was sent: it must be treated as compromised",
            Problem::CsrNotCertificate => "a certificate request (CSR), not a certificate",
            Problem::NotACertificate => "a file that should be a certificate could not be read",
            Problem::ArchiveTooLarge => "an archive over the size or entry limits",
            Problem::ArchiveUnreadable => "an archive that could not be opened",
            Problem::RegisteredForOtherSystem => {
                "registered for another information system: reused only for the same system"
            }
            Problem::RegisteredForOtherEnvironment => {
                "registered for the other environment: reused only in the same environment"
            }
        }
    }
}

impl Problem {
    /// In a word or two, for AGE staff in their language.
    pub fn words(self, language: crate::language::Language) -> &'static str {
        use crate::language::Language;
        match language {
            Language::Ro => self.words_ro(),
            Language::En => match self {
                Problem::Expired => "expired",
                Problem::NotYetValid => "not yet valid",
                Problem::UntrustedIssuer => "unknown issuer (not STISC)",
                Problem::BadSignature => "invalid signature",
                Problem::WeakKey => "weak key",
                Problem::CaCertificate => "a CA certificate, not a system's",
                Problem::Revoked => "revoked",
                Problem::Suspended => "suspended",
                Problem::PrivateKeySent => "sent the private key",
                Problem::CsrNotCertificate => "a CSR, not a certificate",
                Problem::NotACertificate => "unreadable file",
                Problem::ArchiveTooLarge => "archive over the limits",
                Problem::ArchiveUnreadable => "archive that does not open",
                Problem::RegisteredForOtherSystem => "registered for another system",
                Problem::RegisteredForOtherEnvironment => "registered for the other environment",
            },
            Language::Ru => match self {
                Problem::Expired => "истёк",
                Problem::NotYetValid => "ещё не действителен",
                Problem::UntrustedIssuer => "неизвестный издатель (не STISC)",
                Problem::BadSignature => "неверная подпись",
                Problem::WeakKey => "слабый ключ",
                Problem::CaCertificate => "сертификат УЦ, а не системы",
                Problem::Revoked => "отозван",
                Problem::Suspended => "приостановлен",
                Problem::PrivateKeySent => "прислан закрытый ключ",
                Problem::CsrNotCertificate => "запрос CSR, а не сертификат",
                Problem::NotACertificate => "нечитаемый файл",
                Problem::ArchiveTooLarge => "архив сверх пределов",
                Problem::ArchiveUnreadable => "архив не открывается",
                Problem::RegisteredForOtherSystem => "зарегистрирован для другой системы",
                Problem::RegisteredForOtherEnvironment => "зарегистрирован для другой среды",
            },
        }
    }

    fn words_ro(self) -> &'static str {
        match self {
            Problem::Expired => "expirat",
            Problem::NotYetValid => "încă nevalabil",
            Problem::UntrustedIssuer => "emitent necunoscut (nu STISC)",
            Problem::BadSignature => "semnătură invalidă",
            Problem::WeakKey => "cheie slabă",
            Problem::CaCertificate => "certificat de CA, nu de sistem",
            Problem::Revoked => "revocat",
            Problem::Suspended => "suspendat",
            Problem::PrivateKeySent => "a trimis cheia privată",
            Problem::CsrNotCertificate => "cerere CSR, nu certificat",
            Problem::NotACertificate => "fișier ilizibil",
            Problem::ArchiveTooLarge => "arhivă peste limite",
            Problem::ArchiveUnreadable => "arhivă care nu se deschide",
            Problem::RegisteredForOtherSystem => "înregistrat pentru alt sistem",
            Problem::RegisteredForOtherEnvironment => "înregistrat pentru celălalt mediu",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
