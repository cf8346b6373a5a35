//! HTTP basic authentication against the web configuration's
//! `basic_auth_users` (bcrypt hashes).
//!
//! bcrypt is slow on purpose (tens of milliseconds at cost 10), so a
//! success is remembered by a SHA-256 digest of user, password and hash
//! (never the password itself) and the next scrape with the same
//! credentials costs a lookup. An unknown user costs one bcrypt run too,
//! so the time of a refusal does not tell which users exist. [`check`]
//! blocks: callers run it off the async threads.
//!
//! [`check`]: BasicAuth::check

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use base64::Engine;

/// Remembered successes; the set is emptied when it reaches this size.
const MAX_REMEMBERED: usize = 256;

/// The users and what they proved.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    remembered: Mutex<HashSet<Vec<u8>>>,
}

impl BasicAuth {
    /// `None` when there are no users (no authentication).
    pub fn new(users: BTreeMap<String, String>) -> Option<Self> {
        (!users.is_empty()).then(|| Self {
            users,
            remembered: Mutex::new(HashSet::new()),
        })
    }

    /// Whether an `Authorization` header value names a user with their
    /// password. Blocks for a bcrypt run unless remembered.
    pub fn check(&self, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(credentials) else {
            return false;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(hash) => (hash, true),
            // Same work as for a real user, then refused.
            None => match self.users.values().next() {
                Some(hash) => (hash, false),
                None => return false,
            },
        };
        let key = digest(&user, &password, hash);
        if known && self.lock().contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(&password, hash).unwrap_or(false) && known;
        if ok {
            let mut remembered = self.lock();
            if remembered.len() >= MAX_REMEMBERED {
                remembered.clear();
            }
            remembered.insert(key);
        }
        ok
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Vec<u8>>> {
        self.remembered.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `Basic base64(user:password)` to (user, password).
fn credentials(header: &[u8]) -> Option<(String, Vec<u8>)> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

fn digest(user: &str, password: &[u8], hash: &str) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user.as_bytes(), password, hash.as_bytes()] {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part);
    }
    ctx.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> Vec<u8> {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}").into_bytes()
    }

    #[test]
    fn users_passwords_and_malformed_headers() {
        let hash = bcrypt::hash("s3cret:with colon", 4).unwrap();
        let auth = BasicAuth::new(BTreeMap::from([("prom".to_string(), hash)])).unwrap();
        assert!(auth.check(Some(&header("prom", "s3cret:with colon"))));
        // Remembered: the same answer again.
        assert!(auth.check(Some(&header("prom", "s3cret:with colon"))));
        assert!(!auth.check(Some(&header("prom", "s3cret"))));
        assert!(!auth.check(Some(&header("other", "s3cret:with colon"))));
        assert!(!auth.check(None));
        for bad in [
            &b"Basic"[..],
            b"Bearer abc",
            b"Basic !!!",
            b"Basic cHJvbQ==",
            b"\xff",
        ] {
            assert!(!auth.check(Some(bad)), "{bad:?}");
        }
        assert!(BasicAuth::new(BTreeMap::new()).is_none());
    }
}
