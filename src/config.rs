//! The TOML configuration (`--config FILE`): read into raw structs that reject unknown
//! keys, then validated into [`Config`]. Relative paths are relative to the config file,
//! so a config works wherever the daemon is started from.
//!
//! The field doc comments of the raw structs are the user documentation; the example
//! in `config/mnotify-intake.example.toml` repeats them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The mailbox address used when the config names none.
pub const DEFAULT_MAILBOX_ADDRESS: &str = "servicii@egov.md";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    store: RawStore,
    trust: RawTrust,
    #[serde(default)]
    mailbox: RawMailbox,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    /// Directory of the embedded sled database (cases, registry, messages seen). Created
    /// on first use.
    path: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    /// Certificate files (PEM, DER or PKCS#7) of the trusted STISC issuing and root CAs.
    anchors: Vec<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    /// The shared mailbox's address; mail from it is our own and never answered.
    address: Option<String>,
    /// Other addresses of ours (aliases, the staff digest sender).
    #[serde(default)]
    aliases: Vec<String>,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub source: PathBuf,
    pub store_path: PathBuf,
    pub anchors: Vec<PathBuf>,
    pub mailbox_address: String,
    /// The mailbox address and its aliases, lower case.
    pub own_addresses: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}; pass an existing file with --config")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("config file {config}: [{key}] names {path}, which does not exist; fix the path (relative paths are relative to the config file)")]
    MissingFile {
        config: PathBuf,
        key: &'static str,
        path: PathBuf,
    },
    #[error("config file {config}: {what}")]
    Invalid { config: PathBuf, what: String },
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Validates config text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        if raw.trust.anchors.is_empty() {
            return Err(ConfigError::Invalid {
                config: path.into(),
                what: "[trust] anchors is empty; list the STISC CA certificate files".into(),
            });
        }
        let anchors: Vec<PathBuf> = raw.trust.anchors.iter().map(|p| resolve(p)).collect();
        if let Some(missing) = anchors.iter().find(|p| !p.is_file()) {
            return Err(ConfigError::MissingFile {
                config: path.into(),
                key: "trust] anchors",
                path: missing.clone(),
            });
        }
        let mailbox_address = raw
            .mailbox
            .address
            .unwrap_or_else(|| DEFAULT_MAILBOX_ADDRESS.to_string());
        if !mailbox_address.contains('@') {
            return Err(ConfigError::Invalid {
                config: path.into(),
                what: format!("[mailbox] address `{mailbox_address}` is not an e-mail address"),
            });
        }
        let own_addresses = std::iter::once(&mailbox_address)
            .chain(&raw.mailbox.aliases)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        Ok(Config {
            source: path.into(),
            store_path: resolve(&raw.store.path),
            anchors,
            mailbox_address,
            own_addresses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_anchor() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), "x").expect("write");
        dir
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = dir_with_anchor();
        let path = dir.path().join("c.toml");
        let cfg = Config::parse(
            &path,
            "[store]\npath = \"db\"\n[trust]\nanchors = [\"ca.pem\"]\n",
        )
        .expect("valid");
        assert_eq!(cfg.store_path, dir.path().join("db"));
        assert_eq!(cfg.own_addresses, vec![DEFAULT_MAILBOX_ADDRESS.to_string()]);
    }

    #[test]
    fn unknown_key_is_named() {
        let dir = dir_with_anchor();
        let err = Config::parse(
            &dir.path().join("c.toml"),
            "[store]\npath = \"db\"\nsize = 3\n[trust]\nanchors = [\"ca.pem\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("size"), "{err}");
    }

    #[test]
    fn missing_anchor_file_is_named() {
        let dir = dir_with_anchor();
        let err = Config::parse(
            &dir.path().join("c.toml"),
            "[store]\npath = \"db\"\n[trust]\nanchors = [\"nope.pem\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("nope.pem") && err.contains("anchors"), "{err}");
    }
}
