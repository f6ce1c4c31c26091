//! `inspect` throughput on a realistic mix: a 50 KB message with a `.cer`, a 5 MB message
//! with unrelated attachments, and a serial-only text mail.
//!
//! Run: `cargo bench --bench inspect`. Criterion prints MiB/s and messages/s per case
//! (one core: the pipeline is single-threaded per message).

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use mnotify_intake::analysis::{analyse, Context};
use mnotify_intake::certificate::Certificate;
use mnotify_intake::registry::{KnownCertificate, Registry};
use mnotify_intake::testkit::mail::{noise, Mail};
use mnotify_intake::testkit::pki::{LeafSpec, Pki};
use time::macros::datetime;

fn bench(c: &mut Criterion) {
    let now = datetime!(2026-11-24 12:00 UTC);
    let pki = Pki::new(now);
    let leaf = pki.leaf(&LeafSpec::valid_at(
        now,
        "SI Bench",
        &[0x12, 0x34, 0x56, 0x78, 0x9A],
    ));
    let known = pki.leaf(&LeafSpec::valid_at(
        now,
        "SI Known",
        &[0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F],
    ));
    let anchors = pki.trust_anchors();
    let registry = Registry::from_entries([KnownCertificate::from_certificate(
        &Certificate::from_der(&known).expect("known"),
        "MPass",
        Some("Agenția"),
    )]);
    let own = vec!["servicii@egov.md".to_string()];
    let ctx = Context {
        anchors: &anchors,
        registry: &registry,
        own_addresses: &own,
        revocations: &Default::default(),
        procedures: mnotify_intake::procedure::Catalogue::built_in(),
        case_certificates: &Default::default(),
    };

    let text = "Bună ziua,\n\nVă transmitem certificatul de sistem pentru conectarea la MNotify.\n\
                Cu stimă,\nIon Popescu\nAgenția Servicii Publice\n";
    let with_cer = Mail::new("ion@asp.gov.md", "Certificat MNotify")
        .text(text)
        .attach("scrisoare.pdf", "application/pdf", &noise(45_000, 1))
        .attach("sistem.cer", "application/octet-stream", &leaf)
        .build();
    let big = Mail::new("ion@asp.gov.md", "Documente")
        .text(text)
        .attach("raport.pdf", "application/pdf", &noise(2_000_000, 2))
        .attach("foto.jpg", "image/jpeg", &noise(1_700_000, 3))
        .build();
    let serial_only = Mail::new("ion@asp.gov.md", "Re: MNotify")
        .text("Bună ziua,\nNumărul de serie al certificatului: 0a 1b 2c 3d 4e 5f\nMulțumim")
        .build();

    let mut group = c.benchmark_group("inspect");
    for (name, raw) in [
        ("50KB_with_cer", &with_cer),
        ("5MB_unrelated", &big),
        ("serial_only", &serial_only),
    ] {
        group.throughput(Throughput::Bytes(raw.len() as u64));
        group.bench_with_input(BenchmarkId::new("bytes", name), raw, |b, raw| {
            b.iter(|| analyse(raw, &ctx, now))
        });
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("messages", name), raw, |b, raw| {
            b.iter(|| analyse(raw, &ctx, now))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
/// `inspect --json` over a corpus of files against `cat` reading the same bytes: both
/// whole commands, start-up included, as a person runs them on a folder of mail (and
/// reading them in this process, the floor). 400 mails, one in ten with a 3 MB
/// attachment (about 170 MB).
fn against_reading_the_bytes() {
    // MNOTIFY_INSPECT_CORPUS=DIR keeps the corpus there, to profile `inspect` on it.
    let kept = std::env::var_os("MNOTIFY_INSPECT_CORPUS").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = kept.as_deref().unwrap_or(temp.path());
    std::fs::create_dir_all(dir).expect("create the corpus folder");
    let text = "Bună ziua,\n\nVă transmitem certificatul de sistem pentru conectarea la MNotify.\n";
    let files: Vec<std::path::PathBuf> = (0..400)
        .map(|i| {
            let size = if i % 10 == 0 { 3_000_000 } else { 20_000 };
            let raw = Mail::new(
                &format!("ion{i}@primaria.md"),
                &format!("Conectare MNotify {i}"),
            )
            .message_id(&format!("<m{i}@primaria.md>"))
            .text(&format!("{text}Seria: 0A 1B 2C {:02X} 4E\n", i % 256))
            .attach(
                &format!("scrisoare{i}.pdf"),
                "application/pdf",
                &noise(size, i as u64),
            )
            .build();
            let path = dir.join(format!("m{i:03}.eml"));
            std::fs::write(&path, raw).expect("write the corpus");
            path
        })
        .collect();
    let bytes: u64 = files
        .iter()
        .map(|f| f.metadata().map_or(0, |m| m.len()))
        .sum();
    let median = |mut runs: Vec<f64>| {
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let timed = |work: &dyn Fn()| {
        median(
            (0..7)
                .map(|_| {
                    let started = std::time::Instant::now();
                    work();
                    started.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let read = timed(&|| {
        for f in &files {
            std::hint::black_box(std::fs::read(f).expect("read"));
        }
    });
    let cat = timed(&|| {
        let out = std::process::Command::new("cat")
            .args(&files)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run cat");
        assert!(out.success());
    });
    let inspect = timed(&|| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
            .arg("inspect")
            .arg("--json")
            .args(&files)
            .stderr(std::process::Stdio::null())
            .output()
            .expect("run inspect");
        assert!(out.status.success() && !out.stdout.is_empty());
    });
    let one = timed(&|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
            .args(["inspect", "--json"])
            .arg(&files[1])
            .output()
            .expect("run inspect");
    });
    println!(
        "inspect --json over {} files ({:.0} MB): {:.0} ms; cat {:.0} ms, ratio {:.1}x; reading the bytes in-process {:.0} ms, ratio {:.1}x; one small file {:.0} ms (start-up)",
        files.len(),
        bytes as f64 / 1e6,
        inspect * 1e3,
        cat * 1e3,
        inspect / cat,
        read * 1e3,
        inspect / read,
        one * 1e3
    );
}

fn main() {
    benches();
    if std::env::args().any(|a| a == "--bench") {
        against_reading_the_bytes();
    }
    Criterion::default().configure_from_args().final_summary();
}
