//! Writes the `[alerts]` table of `.tandem/config.toml` (the desktop app's settings tab edits the
//! thresholds); [`crate::alerts::load`] reads it. Other tables of the file are kept as they are,
//! but TOML comments are not: the file is rewritten from its parsed form.

use crate::alerts::Rules;
use std::path::{Path, PathBuf};

/// Why the alert rules could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The existing config file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// The existing config file is not valid TOML: fix or remove it first.
    #[error("{} is not valid TOML ({message}); fix or remove it, then save again", path.display())]
    Parse { path: PathBuf, message: String },
    /// A threshold is out of range.
    #[error("{0}")]
    Invalid(String),
    /// The new file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// Checks the ranges that [`crate::alerts::load`] enforces, so a saved file always loads.
pub fn validate(rules: &Rules) -> Result<(), SaveError> {
    for (name, v) in [("cpu_percent", rules.cpu_percent), ("mem_percent", rules.mem_percent)] {
        if !(0.0..=100.0).contains(&v) {
            return Err(SaveError::Invalid(format!("{name} must be within 0..=100, got {v}")));
        }
    }
    if !(rules.sync_lag_ms.is_finite() && rules.sync_lag_ms >= 0.0) {
        return Err(SaveError::Invalid(format!(
            "sync_lag_ms must be a finite number >= 0, got {}",
            rules.sync_lag_ms
        )));
    }
    Ok(())
}

/// Replaces the `[alerts]` table of the config file at `config_path` (created if absent) with
/// `rules`, atomically: a crash leaves the old file or the new one, never half of one.
pub fn save(config_path: &Path, rules: &Rules) -> Result<(), SaveError> {
    validate(rules)?;
    let mut table = match std::fs::read_to_string(config_path) {
        Ok(text) => toml::from_str::<toml::Table>(&text).map_err(|e| SaveError::Parse {
            path: config_path.to_path_buf(),
            message: e.message().trim().to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(source) => {
            return Err(SaveError::Read {
                path: config_path.to_path_buf(),
                source,
            })
        }
    };
    let alerts = toml::Table::try_from(rules).map_err(|e| SaveError::Invalid(e.to_string()))?;
    table.insert("alerts".to_string(), toml::Value::Table(alerts));
    let text = toml::to_string(&table).map_err(|e| SaveError::Invalid(e.to_string()))?;
    let write_err = |source| SaveError::Write {
        path: config_path.to_path_buf(),
        source,
    };
    let tmp = config_path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(write_err)?;
    std::fs::rename(&tmp, config_path).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::load;

    #[test]
    fn saved_rules_load_back_and_other_tables_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[other]\nkey = \"kept\"\n\n[alerts]\ncpu_percent = 50\n").unwrap();
        let rules = Rules {
            cpu_percent: 75.0,
            sync_lag_ms: 500.0,
            peer_offline: false,
            ..Rules::default()
        };
        save(&path, &rules).unwrap();
        assert_eq!(load(&path).unwrap(), rules);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("key = \"kept\""), "{text}");
    }

    #[test]
    fn a_missing_file_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        save(&path, &Rules::default()).unwrap();
        assert_eq!(load(&path).unwrap(), Rules::default());
    }

    #[test]
    fn out_of_range_thresholds_and_broken_files_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let bad = Rules {
            mem_percent: 120.0,
            ..Rules::default()
        };
        assert!(matches!(save(&path, &bad), Err(SaveError::Invalid(m)) if m.contains("mem_percent")));
        assert!(!path.exists());
        std::fs::write(&path, "not toml [").unwrap();
        assert!(matches!(save(&path, &Rules::default()), Err(SaveError::Parse { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not toml [");
    }
}
