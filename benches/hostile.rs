//! Hostile mail against every text pass: the time `inspect` takes to read each shape
//! of `testkit::hostile` at growing sizes, and how it grows (×2 the input should take
//! about ×2 the time; a quadratic pass shows ×4). Also the figure of issue 18: nested
//! and unclosed `<blockquote>` tags, 20,000 / 40,000 / 80,000 of them.
//!
//! Run: `cargo bench --bench hostile`. Under `cargo test` it reads each shape once at
//! 256 KB (a smoke run: every shape gets a decision without a panic).

use std::time::Instant;

use mnotify_intake::analysis::{analyse, Context};
use mnotify_intake::certificate::TrustAnchors;
use mnotify_intake::registry::Registry;
use mnotify_intake::testkit::hostile::SHAPES;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let anchors = TrustAnchors::new(Vec::new());
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
    let now = time::macros::datetime!(2026-12-01 12:00 UTC);
    let read = |raw: &[u8]| {
        let start = Instant::now();
        let analysis = analyse(raw, &ctx, now);
        std::hint::black_box(analysis.decision);
        start.elapsed().as_secs_f64() * 1000.0
    };
    if !full {
        for shape in SHAPES {
            read(&(shape.build)(256 * 1024));
        }
        println!("hostile: {} shapes read at 256 KB", SHAPES.len());
        return;
    }
    println!("nested <blockquote> tags, unclosed (one mail each):");
    for tags in [20_000usize, 40_000, 80_000] {
        let raw = (SHAPES[0].build)(tags * "<blockquote>".len());
        println!(
            "  {tags:>6} tags ({:>5} KB): {:>8.1} ms",
            raw.len() / 1024,
            best_of(3, || read(&raw))
        );
    }
    println!("\nevery shape, best of 3 (ms) at 1, 2, 4 and 8 MB; growth per doubling:");
    for shape in SHAPES {
        let times: Vec<f64> = [1usize, 2, 4, 8]
            .iter()
            .map(|mb| {
                let raw = (shape.build)(mb << 20);
                best_of(3, || read(&raw))
            })
            .collect();
        let growth: Vec<String> = times
            .windows(2)
            .map(|w| format!("×{:.1}", w[1] / w[0].max(0.001)))
            .collect();
        println!(
            "  {:<48} {:>8.1} {:>8.1} {:>8.1} {:>8.1}   {}",
            shape.name,
            times[0],
            times[1],
            times[2],
            times[3],
            growth.join(" ")
        );
    }
}

fn best_of(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..n).map(|_| f()).fold(f64::INFINITY, f64::min)
}
