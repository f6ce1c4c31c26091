//! Shared test helpers: a fixed "now", a fresh PKI, a registry, and the pipeline.

use std::collections::BTreeSet;

use mnotify_intake::analysis::{analyse, Analysis, Context};
use mnotify_intake::certificate::{Certificate, TrustAnchors};
use mnotify_intake::registry::{KnownCertificate, Registry, Status};
use mnotify_intake::revocation::Revocations;
use mnotify_intake::testkit::pki::{LeafSpec, Pki};
use time::macros::datetime;
use time::OffsetDateTime;

pub const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);
pub const APPLICANT: &str = "Ion Popescu <ion.popescu@asp.gov.md>";

pub struct World {
    pub pki: Pki,
    pub anchors: TrustAnchors,
    pub registry: Registry,
    /// The CRLs at hand (default: revocation not checked).
    pub revocations: Revocations,
}

impl World {
    pub fn new() -> World {
        let pki = Pki::new(NOW);
        let anchors = pki.trust_anchors();
        World {
            pki,
            anchors,
            registry: Registry::default(),
            revocations: Revocations::default(),
        }
    }

    /// A valid system certificate with this serial.
    pub fn leaf(&self, serial: &[u8]) -> Vec<u8> {
        self.pki
            .leaf(&LeafSpec::valid_at(NOW, "SI Test al Agenției", serial))
    }

    pub fn know(&mut self, der: &[u8], service: &str, status: Status) {
        let cert = Certificate::from_der(der).expect("known certificate parses");
        let mut known = KnownCertificate::from_certificate(&cert, service, Some("Agenția Test"));
        known.status = status;
        self.registry.merge(known);
    }

    /// Registers a certificate by number only, as the CSV of another service would.
    pub fn know_serial(&mut self, serial: &str, issuer: &str, service: &str) {
        self.registry.merge(KnownCertificate {
            serial: serial.to_string(),
            issuer: issuer.to_string(),
            sha1: None,
            sha256: None,
            subject: None,
            not_after: None,
            status: Status::Active,
            services: BTreeSet::from([service.to_string()]),
            institution: Some("Instituția din CSV".to_string()),
            environment: None,
            system: None,
            domain: None,
        });
    }

    pub fn analyse(&self, raw: &[u8]) -> Analysis {
        let own = vec!["servicii@egov.md".to_string()];
        let ctx = Context {
            anchors: &self.anchors,
            registry: &self.registry,
            own_addresses: &own,
            revocations: &self.revocations,
            procedures: mnotify_intake::procedure::Catalogue::built_in(),
            case_certificates: &Default::default(),
        };
        analyse(raw, &ctx, NOW)
    }
}

/// Problem codes of an analysis, as strings.
pub fn codes(a: &Analysis) -> Vec<&'static str> {
    a.problems.iter().map(|p| p.code()).collect()
}
