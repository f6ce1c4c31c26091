//! Peak heap while analysing one 25 MB message (target: under 4× the message size), and
//! while analysing 25 MB built of empty MIME parts, as hostile mail could be.
//!
//! Run: `cargo bench --bench peak_memory`. Counts every allocation with a wrapping
//! global allocator, so the figure is exact heap, not RSS.

// A global allocator that counts: the one place the project needs `unsafe`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use mnotify_intake::analysis::{analyse, Context};
use mnotify_intake::registry::Registry;
use mnotify_intake::testkit::mail::Mail;
use mnotify_intake::testkit::pki::{LeafSpec, Pki};
use time::macros::datetime;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let now = datetime!(2026-11-24 12:00 UTC);
    let pki = Pki::new(now);
    let leaf = pki.leaf(&LeafSpec::valid_at(now, "SI", &[0x01, 0x02, 0x03, 0x04]));
    let anchors = pki.trust_anchors();
    let registry = Registry::default();
    let own = vec!["servicii@egov.md".to_string()];
    let ctx = Context {
        anchors: &anchors,
        registry: &registry,
        own_addresses: &own,
        revocations: &Default::default(),
        procedures: mnotify_intake::procedure::Catalogue::built_in(),
        case_certificates: &Default::default(),
    };

    let mut filler = vec![0u8; 18_500_000];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in filler.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    let raw = Mail::new("ion@asp.gov.md", "Certificat MNotify")
        .text("Certificatul și documentele.")
        .attach("documente.pdf", "application/pdf", &filler)
        .attach("sistem.cer", "application/octet-stream", &leaf)
        .build();
    drop(filler);
    let size = raw.len();

    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let analysis = analyse(&raw, &ctx, now);
    let peak = PEAK.load(Ordering::Relaxed);
    assert_eq!(
        analysis.certificates.len(),
        1,
        "the certificate must be found"
    );

    let mb = |b: usize| b as f64 / 1_048_576.0;
    println!("message size:              {:8.1} MiB", mb(size));
    println!(
        "heap before analysis:      {:8.1} MiB (the message itself and the test PKI)",
        mb(baseline)
    );
    println!("peak heap during analysis: {:8.1} MiB", mb(peak));
    println!(
        "peak / message size:       {:8.2}x (target < 4x)",
        peak as f64 / size as f64
    );
    drop(analysis);
    drop(raw);

    // Hostile: about 2.5 million empty parts in 25 MB.
    let mut hostile = String::from(
        "From: ion@asp.gov.md\r\nSubject: Certificat MNotify\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n",
    );
    while hostile.len() < 25_000_000 {
        hostile.push_str("--x\r\n\r\n\r\n");
    }
    hostile.push_str("--x--\r\n");
    let size = hostile.len();
    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let analysis = analyse(hostile.as_bytes(), &ctx, now);
    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    assert!(analysis.facts.unparseable, "read by its header only");
    println!(
        "hostile 25 MB of empty parts: {:6.1} MiB above the message ({:.2}x its size)",
        mb(peak),
        peak as f64 / size as f64
    );
}
