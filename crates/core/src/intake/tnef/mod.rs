//! TNEF (`winmail.dat`, `application/ms-tnef`): what Outlook sends instead of plain
//! attachments when a mail is written in rich text. A small reader of the format
//! ([MS-OXTNEF]): a signature, then attributes (level, id, length, data, checksum); an
//! attachment begins at `attAttachRenddata` and takes its data from `attAttachData` or
//! the MAPI property `PR_ATTACH_DATA_OBJ`, its name from `PR_ATTACH_LONG_FILENAME`,
//! `PR_ATTACH_FILENAME` or `attAttachTitle`. Everything else (the message's own
//! properties, the RTF body) is skipped. Bounded: a stranger's file gets at most
//! [`MAX_ATTACHMENTS`] attachments read, never an index out of range.

/// TNEF's signature, little-endian.
const SIGNATURE: u32 = 0x223E_9F78;
/// Attachments read from one file at most.
pub const MAX_ATTACHMENTS: usize = 64;

/// Attribute ids (the low 16 bits of the attribute field).
const ATT_ATTACH_RENDDATA: u16 = 0x9002;
const ATT_ATTACH_TITLE: u16 = 0x8010;
const ATT_ATTACH_DATA: u16 = 0x800F;
const ATT_ATTACHMENT: u16 = 0x9005;

/// MAPI property ids.
const PR_ATTACH_DATA: u16 = 0x3701;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_DISPLAY_NAME: u16 = 0x3001;

/// MAPI property types.
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_BINARY: u16 = 0x0102;
const PT_OBJECT: u16 = 0x000D;
const MV_FLAG: u16 = 0x1000;

/// One attachment found inside.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attachment {
    pub name: String,
    pub data: Vec<u8>,
}

/// Whether `bytes` start like a TNEF stream.
pub fn is_tnef(bytes: &[u8]) -> bool {
    u32_at(bytes, 0) == Some(SIGNATURE)
}

/// The attachments of a TNEF stream; `None` when it is not one or breaks off before
/// its first attachment. Reading stops at the first damaged attribute: what came
/// before it is kept.
pub fn attachments(bytes: &[u8]) -> Option<Vec<Attachment>> {
    if !is_tnef(bytes) {
        return None;
    }
    let mut out: Vec<Found> = Vec::new();
    let mut at = 6; // signature, legacy key
    while at < bytes.len() && out.len() <= MAX_ATTACHMENTS {
        let Some((id, data, next)) = attribute(bytes, at) else {
            break;
        };
        at = next;
        match id {
            ATT_ATTACH_RENDDATA => out.push(Found::default()),
            ATT_ATTACH_TITLE => {
                if let Some(a) = out.last_mut() {
                    a.title = Some(string8(data));
                }
            }
            ATT_ATTACH_DATA => {
                if let Some(a) = out.last_mut() {
                    a.data = Some(data.to_vec());
                }
            }
            ATT_ATTACHMENT => {
                if let Some(a) = out.last_mut() {
                    read_properties(data, a);
                }
            }
            _ => {}
        }
    }
    out.truncate(MAX_ATTACHMENTS);
    Some(out.into_iter().map(Found::finish).collect())
}

/// What the attributes of one attachment said.
#[derive(Debug, Default)]
struct Found {
    title: Option<String>,
    long_name: Option<String>,
    file_name: Option<String>,
    display_name: Option<String>,
    data: Option<Vec<u8>>,
    object: Option<Vec<u8>>,
}

impl Found {
    fn finish(self) -> Attachment {
        let name = [
            self.long_name,
            self.file_name,
            self.title,
            self.display_name,
        ]
        .into_iter()
        .flatten()
        .find(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Untitled Attachment".into());
        Attachment {
            name,
            data: self.data.or(self.object).unwrap_or_default(),
        }
    }
}

/// One attribute at `at`: its id, its data and where the next begins.
fn attribute(bytes: &[u8], at: usize) -> Option<(u16, &[u8], usize)> {
    let _level = *bytes.get(at)?;
    let field = u32_at(bytes, at + 1)?;
    let len = u32_at(bytes, at + 5)? as usize;
    let start = at + 9;
    let end = start.checked_add(len)?;
    let data = bytes.get(start..end)?;
    // The checksum (2 bytes) is not verified: Outlook's are sometimes wrong, and a
    // certificate inside is checked on its own anyway.
    Some(((field & 0xFFFF) as u16, data, end + 2))
}

/// The MAPI properties of `attAttachment`: the names and the data of the attachment.
fn read_properties(data: &[u8], found: &mut Found) {
    let Some(count) = u32_at(data, 0) else {
        return;
    };
    let mut at = 4;
    for _ in 0..count.min(1024) {
        let (Some(kind), Some(id)) = (u16_at(data, at), u16_at(data, at + 2)) else {
            return;
        };
        at += 4;
        if id >= 0x8000 {
            // A named property: a GUID, then a number or a name.
            at += 16;
            let Some(form) = u32_at(data, at) else { return };
            at += 4;
            if form == 0 {
                at += 4;
            } else {
                let Some(len) = u32_at(data, at) else { return };
                at = at.saturating_add(4).saturating_add(padded(len as usize));
            }
        }
        let Some((values, next)) = values(data, at, kind) else {
            return;
        };
        at = next;
        let Some(first) = values.first() else {
            continue;
        };
        let text = || match kind & !MV_FLAG {
            PT_UNICODE => Some(utf16(first)),
            PT_STRING8 => Some(string8(first)),
            _ => None,
        };
        match id {
            PR_ATTACH_LONG_FILENAME => found.long_name = text(),
            PR_ATTACH_FILENAME => found.file_name = text(),
            PR_DISPLAY_NAME => found.display_name = text(),
            PR_ATTACH_DATA if kind == PT_OBJECT => {
                // An object value starts with the interface's 16-byte identifier.
                found.object = first.get(16..).map(<[u8]>::to_vec);
            }
            PR_ATTACH_DATA if kind == PT_BINARY => found.object = Some(first.to_vec()),
            _ => {}
        }
    }
}

/// The values of one property of type `kind` at `at`, and where the next property
/// begins.
fn values(data: &[u8], at: usize, kind: u16) -> Option<(Vec<&[u8]>, usize)> {
    let base = kind & !MV_FLAG;
    let variable = matches!(base, PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT);
    let multi = kind & MV_FLAG != 0;
    let mut at = at;
    let count = if multi || variable {
        let n = u32_at(data, at)? as usize;
        at += 4;
        n
    } else {
        1
    };
    let mut out = Vec::new();
    for _ in 0..count.min(4096) {
        if variable {
            let len = u32_at(data, at)? as usize;
            let start = at + 4;
            let value = data.get(start..start.checked_add(len)?)?;
            out.push(value);
            at = start + padded(len);
        } else {
            let size = fixed_size(base)?;
            out.push(data.get(at..at + size)?);
            at += padded(size);
        }
    }
    Some((out, at))
}

/// The size of a fixed-size MAPI value, `None` for a type this reader does not know
/// (the properties after it cannot be found then).
fn fixed_size(kind: u16) -> Option<usize> {
    match kind {
        0x0001 | 0x000A | 0x0003 | 0x0004 => Some(4), // null, error, long, float
        0x0002 | 0x000B => Some(2),                   // short, boolean (padded to 4)
        0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8), // double, currency, apptime, i8, systime
        0x0048 => Some(16),                                    // CLSID
        _ => None,
    }
}

fn padded(len: usize) -> usize {
    len.div_ceil(4) * 4
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// An 8-bit string (Windows code page; read as Latin-1, which the letters of file names
/// it matters for share), without its terminating NULs.
fn string8(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b[..end].iter().map(|&c| c as char).collect()
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests;
