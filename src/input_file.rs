//! Opening an input file: the one way every file the tool reads (snapshot
//! tables and manifest, export files and their manifest, waivers, baseline,
//! config, rule files) is opened.
//!
//! Only a regular file is read, after following symbolic links: a
//! directory, a named pipe (FIFO), a socket or a device where a file is
//! expected, and a dangling or looping symbolic link, are errors that say
//! which. Opening a FIFO would block until a writer comes, and reading a
//! device such as `/dev/zero` would never end, so the kind is checked
//! before the file is opened, and again on the opened file.
//!
//! Every file is also capped in size ([`max_file_size`], 4 GiB unless
//! `--max-file-size` or `PARTNER_AUDIT_MAX_FILE_SIZE` says otherwise). The
//! cap is enforced while reading (a file is never read past it, whatever
//! its metadata claims), not only against the size the file system states.

use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::snapshot::Diagnostic;

/// The size cap of one input file unless configured: 4 GiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 << 30;

/// The environment variable that sets the size cap (as `--max-file-size`).
pub const MAX_FILE_SIZE_ENV: &str = "PARTNER_AUDIT_MAX_FILE_SIZE";

/// The cap for this process (set once from the command line).
static MAX_FILE_SIZE: AtomicU64 = AtomicU64::new(DEFAULT_MAX_FILE_SIZE);

/// Sets the size cap of every input file read from now on.
pub fn set_max_file_size(bytes: u64) {
    MAX_FILE_SIZE.store(bytes, Ordering::Relaxed);
}

/// The size cap of one input file, in bytes.
pub fn max_file_size() -> u64 {
    MAX_FILE_SIZE.load(Ordering::Relaxed)
}

/// Parses a size for `--max-file-size`: a number of bytes, optionally
/// followed by a unit: `K`, `M`, `G`, `T` or `KiB`, `MiB`, `GiB`, `TiB`
/// (powers of 1024), `KB`, `MB`, `GB`, `TB` (powers of 1000), `B`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let unit = unit.trim();
    let n: u64 = digits.parse().map_err(|_| {
        format!("invalid size `{s}` (expected a number of bytes, e.g. 4GiB or 500MB)")
    })?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "invalid size unit `{unit}` (expected B, K, M, G, T, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
            ))
        }
    };
    let bytes = n
        .checked_mul(factor)
        .ok_or_else(|| format!("size `{s}` is too large"))?;
    if bytes == 0 {
        return Err("the size limit must be at least 1 byte".into());
    }
    Ok(bytes)
}

/// A size for messages: `4 GiB`, `512 MiB`, else bytes.
fn human(bytes: u64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// Why an input file cannot be read.
#[derive(Debug)]
pub enum InputError {
    /// A symbolic link whose target does not exist.
    Dangling {
        /// The link's target as written.
        target: PathBuf,
    },
    /// A symbolic link that leads back to itself.
    Loop,
    /// Something other than a regular file: "a directory", "a named pipe (FIFO)", ...
    NotRegular(&'static str),
    /// Larger than [`max_file_size`].
    TooLarge {
        /// The cap in force.
        limit: u64,
    },
    /// Any other I/O error (not found, permission denied, ...).
    Io(io::Error),
}

impl InputError {
    /// What is wrong: lower-case, no final period.
    pub fn message(&self) -> String {
        match self {
            InputError::Dangling { target } => format!(
                "file is a dangling symbolic link: its target `{}` does not exist",
                target.display()
            ),
            InputError::Loop => {
                "file is a symbolic link loop (too many levels of symbolic links)".into()
            }
            InputError::NotRegular(kind) => format!("file is {kind}, not a regular file"),
            InputError::TooLarge { limit } => {
                let shown = human(*limit);
                let mut m = format!("file is larger than the input size limit of {shown}");
                if shown.ends_with("iB") {
                    m.push_str(&format!(" ({limit} bytes)"));
                }
                m
            }
            InputError::Io(e) => format!("cannot read file: {}", io_message(e)),
        }
    }

    /// What would have been accepted, if worth saying.
    pub fn expected(&self) -> Option<String> {
        match self {
            InputError::Dangling { .. } | InputError::Loop | InputError::NotRegular(_) => {
                Some("a regular file, or a symbolic link to one".into())
            }
            InputError::TooLarge { .. } | InputError::Io(_) => None,
        }
    }

    /// Advice, if any.
    pub fn help(&self) -> Option<String> {
        match self {
            InputError::TooLarge { .. } => Some(format!(
                "raise the limit with `--max-file-size SIZE` or {MAX_FILE_SIZE_ENV}"
            )),
            _ => None,
        }
    }

    /// The error as a diagnostic about `file`.
    pub fn diagnostic(&self, file: &str) -> Diagnostic {
        let mut d = Diagnostic::error(file, self.message());
        if let Some(e) = self.expected() {
            d = d.with_expected(e);
        }
        if let Some(h) = self.help() {
            d = d.with_help(h);
        }
        d
    }

    /// True when nothing at all is at the path (not even a dangling link).
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())?;
        if let Some(e) = self.expected() {
            write!(f, " (expected {e})")?;
        }
        if let Some(h) = self.help() {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// True when something (a file, a directory, a link, even a dangling one)
/// is at `path`: an input that is there but unreadable is an error, not an
/// absent input.
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// The kind of a non-regular file, for messages.
fn kind_of(m: &Metadata) -> Option<&'static str> {
    let t = m.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
    }
    Some("neither a file nor a directory")
}

/// Checks that `path` is a regular file (after following symbolic links)
/// within the size cap; returns its size as the file system states it.
pub fn check(path: &Path) -> Result<u64, InputError> {
    let m = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Err(link_error(path, e)),
    };
    regular(&m)
}

fn regular(m: &Metadata) -> Result<u64, InputError> {
    if let Some(kind) = kind_of(m) {
        return Err(InputError::NotRegular(kind));
    }
    let limit = max_file_size();
    if m.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(m.len())
}

/// Why following `path` failed: a dangling or looping link, or `e`.
fn link_error(path: &Path, e: io::Error) -> InputError {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link && e.kind() == io::ErrorKind::NotFound {
        return InputError::Dangling {
            target: fs::read_link(path).unwrap_or_default(),
        };
    }
    // ELOOP: no stable `ErrorKind` yet.
    #[cfg(unix)]
    if e.raw_os_error() == Some(ELOOP) {
        return InputError::Loop;
    }
    InputError::Io(e)
}

/// `ELOOP` (too many levels of symbolic links).
#[cfg(any(target_os = "linux", target_os = "android"))]
const ELOOP: i32 = 40;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const ELOOP: i32 = 62;

/// Opens `path` for reading once [`check`] accepts it; returns the file
/// and its size (checked again on the opened file).
pub fn open(path: &Path) -> Result<(File, u64), InputError> {
    check(path)?;
    let file = File::open(path).map_err(|e| link_error(path, e))?;
    let size = regular(&file.metadata().map_err(InputError::Io)?)?;
    Ok((file, size))
}

/// Reads the whole of `path`, never more than the size cap.
pub fn read(path: &Path) -> Result<Vec<u8>, InputError> {
    read_at_most(path, max_file_size())
}

/// Reads the whole of `path`, refusing it past `limit` bytes whatever its
/// metadata says (a `/proc` file states 0 bytes).
fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let (file, size) = open(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(InputError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads the whole of `path` as UTF-8 text, never more than the size cap.
pub fn read_to_string(path: &Path) -> Result<String, InputError> {
    String::from_utf8(read(path)?).map_err(|_| {
        InputError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })
}

/// An I/O error as a lower-case message without the OS error number.
pub fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let text = e.to_string();
            let text = text
                .rfind(" (os error")
                .map_or(text.as_str(), |i| &text[..i]);
            let mut chars = text.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("4 G"), Ok(4 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    /// Validates that the cap holds while reading, not only against the
    /// size the metadata states.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_cap_holds_while_reading() {
        let path = Path::new("/proc/self/status");
        let stated = fs::metadata(path).expect("metadata").len();
        assert_eq!(stated, 0, "a /proc file states no size");
        assert!(matches!(
            read_at_most(path, 16),
            Err(InputError::TooLarge { limit: 16 })
        ));
        assert!(read_at_most(path, 1 << 20).is_ok_and(|b| b.len() > 16));
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_directories_are_refused_before_reading() {
        for (path, kind) in [("/dev/zero", "a character device"), ("/", "a directory")] {
            let e = read(Path::new(path)).expect_err(path);
            assert!(
                matches!(e, InputError::NotRegular(k) if k == kind),
                "{path}: {e}"
            );
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(4 << 30), "4 GiB");
        assert_eq!(human(1536), "1536 bytes");
        assert_eq!(human(2048), "2 KiB");
    }
}
