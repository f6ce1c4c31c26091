//! Certificates inside `.zip` archives, read with hard limits so that a zip bomb is a
//! problem code and never an out-of-memory.

use std::io::{Cursor, Read};

use crate::problem::Problem;

/// Entries beyond this many make the archive suspect.
pub const MAX_ENTRIES: usize = 256;
/// A certificate, even a long chain, is a few kilobytes.
pub const MAX_ENTRY_BYTES: u64 = 1024 * 1024;
/// All entries read from one archive together.
pub const MAX_TOTAL_BYTES: u64 = 8 * 1024 * 1024;
/// Archives inside archives, this deep at most.
pub const MAX_NESTING: usize = 2;

/// The entries worth reading, or the problem that stopped the reading.
#[derive(Debug, Default)]
pub struct Entries {
    pub files: Vec<(String, Vec<u8>)>,
    pub problem: Option<Problem>,
}

/// Reads the entries of `bytes` that `wanted(name, declared_size)` asks for.
pub fn read(bytes: &[u8], wanted: impl Fn(&str, u64) -> bool) -> Entries {
    let mut out = Entries::default();
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(_) => {
            return Entries {
                problem: Some(Problem::ArchiveUnreadable),
                ..out
            }
        }
    };
    if archive.len() > MAX_ENTRIES {
        return Entries {
            problem: Some(Problem::ArchiveTooLarge),
            ..out
        };
    }
    let mut total = 0u64;
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(e) => e,
            Err(_) => {
                out.problem.get_or_insert(Problem::ArchiveUnreadable);
                continue;
            }
        };
        if entry.is_dir() || !wanted(entry.name(), entry.size()) {
            continue;
        }
        let name = entry.name().to_string();
        // Declared sizes can lie: read one byte past the limit to notice.
        let mut data = Vec::new();
        let limit = MAX_ENTRY_BYTES.min(MAX_TOTAL_BYTES - total);
        match (&mut entry).take(limit + 1).read_to_end(&mut data) {
            Ok(_) if data.len() as u64 > limit => {
                return Entries {
                    problem: Some(Problem::ArchiveTooLarge),
                    ..out
                };
            }
            Ok(_) => {
                total += data.len() as u64;
                out.files.push((name, data));
            }
            Err(_) => {
                out.problem.get_or_insert(Problem::ArchiveUnreadable);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, SimpleFileOptions::default())
                .expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn reads_small_entries() {
        let z = zip_of(&[("a.cer", b"abc"), ("b.txt", b"zzz")]);
        let e = read(&z, |n, _| n.ends_with(".cer"));
        assert_eq!(e.files, vec![("a.cer".to_string(), b"abc".to_vec())]);
        assert_eq!(e.problem, None);
    }

    #[test]
    fn a_bomb_is_a_problem() {
        let zeros = vec![0u8; (MAX_ENTRY_BYTES + 10) as usize];
        let z = zip_of(&[("big.cer", &zeros)]);
        assert!(z.len() < 100_000, "deflate squeezes zeros");
        assert_eq!(
            read(&z, |_, _| true).problem,
            Some(Problem::ArchiveTooLarge)
        );
    }

    #[test]
    fn garbage_is_unreadable() {
        assert_eq!(
            read(b"PK\x03\x04garbage", |_, _| true).problem,
            Some(Problem::ArchiveUnreadable)
        );
    }
}
