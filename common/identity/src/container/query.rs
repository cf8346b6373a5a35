//! What a user may type to name a container or pod, classified.

use super::layout::{is_hex, valid_uid};

/// Shortest id prefix taken as an id (shorter ones match too much).
pub const MIN_ID_PREFIX: usize = 4;

/// A container or pod as the user named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// A container name, a full id, an id prefix, or a bare runc id (a
    /// cgroup directory name): tried in that order of precedence, as docker
    /// does (full id, then exact name, then prefix).
    Word(String),
    /// A Kubernetes pod by UID (`-` or `_` separated).
    PodUid(String),
    /// `NAMESPACE/POD` or `NAMESPACE/POD/CONTAINER`.
    Pod {
        namespace: String,
        pod: String,
        container: Option<String>,
    },
}

impl Query {
    /// Classifies `text`; `Err` holds the reason it names nothing.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty container name".into());
        }
        if text.chars().any(char::is_control) {
            return Err("control characters in a container name".into());
        }
        if text.contains('/') {
            let parts: Vec<&str> = text.split('/').collect();
            if parts.iter().any(|p| p.is_empty()) || !(2..=3).contains(&parts.len()) {
                return Err("expected NAMESPACE/POD or NAMESPACE/POD/CONTAINER".into());
            }
            return Ok(Self::Pod {
                namespace: parts[0].to_string(),
                pod: parts[1].to_string(),
                container: parts.get(2).map(|c| c.to_string()),
            });
        }
        if let Some(uid) = valid_uid(text).filter(|u| u.contains('-')) {
            return Ok(Self::PodUid(uid));
        }
        Ok(Self::Word(text.to_string()))
    }
}

/// True when `text` can be (a prefix of) a hex container id.
pub fn is_id_prefix(text: &str) -> bool {
    text.len() >= MIN_ID_PREFIX && text.len() <= super::layout::FULL_ID_LEN && is_hex(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        assert_eq!(Query::parse(" web ").unwrap(), Query::Word("web".into()));
        assert_eq!(Query::parse("3f2a").unwrap(), Query::Word("3f2a".into()));
        assert_eq!(
            Query::parse("default/nginx-7d9").unwrap(),
            Query::Pod {
                namespace: "default".into(),
                pod: "nginx-7d9".into(),
                container: None
            }
        );
        assert_eq!(
            Query::parse("kube-system/coredns-1/coredns").unwrap(),
            Query::Pod {
                namespace: "kube-system".into(),
                pod: "coredns-1".into(),
                container: Some("coredns".into())
            }
        );
        let uid = "6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b";
        assert_eq!(Query::parse(uid).unwrap(), Query::PodUid(uid.into()));
        assert_eq!(
            Query::parse(&uid.replace('-', "_")).unwrap(),
            Query::PodUid(uid.into())
        );
        // 32 hex digits are an id prefix, not a static pod's hash.
        assert!(matches!(
            Query::parse("0123456789abcdef0123456789abcdef").unwrap(),
            Query::Word(_)
        ));
        for bad in ["", "  ", "a/", "/a", "a//b", "a/b/c/d", "we\u{1b}b"] {
            assert!(Query::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn id_prefixes() {
        assert!(is_id_prefix("3f2a"));
        assert!(is_id_prefix("C0FFEE1234"));
        assert!(!is_id_prefix("3f2"));
        assert!(!is_id_prefix("web1"));
        assert!(!is_id_prefix(&"a".repeat(65)));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,100}") {
            let _ = Query::parse(&text);
        }
    }
}
