//! Credentials of Prometheus queries, read from files: a bearer token, or a
//! basic-auth password. A file is read again when its modification time or
//! length changes (a rotated Kubernetes Secret, a refreshed token), so the
//! next query after a rotation carries the new secret; otherwise the last
//! read is reused. Neither an error nor `Debug` ever holds the secret.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use reqwest::RequestBuilder;

use super::PrometheusError;
use crate::config::Auth;

/// How each query authenticates.
#[derive(Debug)]
pub(super) enum Credentials {
    Bearer(SecretFile),
    Basic {
        username: String,
        password: SecretFile,
    },
}

impl Credentials {
    pub(super) fn new(auth: &Auth) -> Credentials {
        match auth {
            Auth::BearerTokenFile(path) => {
                Credentials::Bearer(SecretFile::new("bearer token file", path))
            }
            Auth::Basic {
                username,
                password_file,
            } => Credentials::Basic {
                username: username.clone(),
                password: SecretFile::new("password file", password_file),
            },
        }
    }

    /// `request` with its `Authorization` header (marked sensitive by reqwest).
    pub(super) fn apply(&self, request: RequestBuilder) -> Result<RequestBuilder, PrometheusError> {
        Ok(match self {
            Credentials::Bearer(token) => request.bearer_auth(token.read()?),
            Credentials::Basic { username, password } => {
                request.basic_auth(username, Some(password.read()?))
            }
        })
    }
}

/// A file holding one secret, cached by (modification time, length).
pub(super) struct SecretFile {
    /// "bearer token file", "password file": how errors name it.
    what: &'static str,
    path: PathBuf,
    cache: Mutex<Option<Cached>>,
}

struct Cached {
    modified: Option<SystemTime>,
    len: u64,
    value: String,
}

impl fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("SecretFile")
            .field("what", &self.what)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SecretFile {
    pub(super) fn new(what: &'static str, path: &Path) -> SecretFile {
        SecretFile {
            what,
            path: path.to_path_buf(),
            cache: Mutex::new(None),
        }
    }

    fn error(&self, reason: String) -> PrometheusError {
        PrometheusError::Credentials {
            what: self.what,
            path: self.path.clone(),
            reason,
        }
    }

    /// The secret, surrounding whitespace trimmed (a file written by `echo`
    /// ends in a newline; Prometheus trims these files the same way). A
    /// small file, read synchronously: a `stat` per query, a read per change.
    pub(super) fn read(&self) -> Result<String, PrometheusError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| self.error(e.to_string()))?;
        let (modified, len) = (meta.modified().ok(), meta.len());
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = cache.as_ref()
            && c.modified == modified
            && c.len == len
        {
            return Ok(c.value.clone());
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| self.error(e.to_string()))?;
        let value = text.trim().to_string();
        if value.is_empty() {
            return Err(self.error("the file is empty".into()));
        }
        *cache = Some(Cached {
            modified,
            len,
            value: value.clone(),
        });
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Write;
    use std::time::Duration;

    use super::*;

    fn write(path: &Path, text: &str, modified: SystemTime) {
        let mut f = File::create(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.set_modified(modified).unwrap();
    }

    #[test]
    fn a_rotated_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        write(&path, "first\n", t0);
        let token = SecretFile::new("bearer token file", &path);
        assert_eq!(token.read().unwrap(), "first");

        // Same length, later time: a rotation.
        write(&path, "again\n", t0 + Duration::from_secs(60));
        assert_eq!(token.read().unwrap(), "again");

        // Another length at the same time: also a rotation.
        write(&path, "longer token\n", t0 + Duration::from_secs(60));
        assert_eq!(token.read().unwrap(), "longer token");
    }

    #[test]
    fn an_unchanged_file_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        write(&path, "cached", t0);
        let token = SecretFile::new("bearer token file", &path);
        assert_eq!(token.read().unwrap(), "cached");
        // Other bytes, but the same time and length: the cache answers.
        write(&path, "CACHED", t0);
        assert_eq!(token.read().unwrap(), "cached");
    }

    #[test]
    fn errors_name_the_file_not_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let token = SecretFile::new("bearer token file", &path);
        let e = token.read().unwrap_err();
        assert!(e.is_transient(), "a missing file may be mounted later");
        let text = e.to_string();
        assert!(
            text.starts_with("cannot read the bearer token file "),
            "{text}"
        );
        assert!(text.contains(&path.display().to_string()), "{text}");

        std::fs::write(&path, "s3cr3t").unwrap();
        assert_eq!(token.read().unwrap(), "s3cr3t");
        std::fs::remove_file(&path).unwrap();
        let e = token.read().unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(!format!("{token:?} {e:?}").contains("s3cr3t"));

        std::fs::write(&path, " \n").unwrap();
        let e = token.read().unwrap_err().to_string();
        assert!(e.ends_with("the file is empty"), "{e}");
    }
}
