//! `--web.config.file`: the Prometheus exporter toolkit's web
//! configuration (the file node_exporter and the official exporters take):
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # relative paths: from the file's directory
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: clients-ca.crt
//!   min_version: TLS12             # TLS12 or TLS13
//! http_server_config:
//!   headers: {Strict-Transport-Security: max-age=31536000}
//! basic_auth_users:
//!   prometheus: $2y$10$...         # bcrypt hash
//! ```
//!
//! Read once at start; anything wrong (unreadable, not YAML, an unknown or
//! mistyped field, a bad hash, a certificate that does not load) is one
//! [`WebConfigError`] naming the file and the field.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Exit status for a web configuration that cannot be used.
pub const EXIT_WEB_CONFIG: u8 = 4;

/// Largest web configuration file read (a real one is under 1 KiB).
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The web configuration could not be used; exit status [`EXIT_WEB_CONFIG`].
#[derive(Debug)]
pub struct WebConfigError {
    pub file: PathBuf,
    /// Dotted path of the field at fault (`tls_server_config.cert_file`),
    /// empty when it is the file itself.
    pub field: String,
    pub why: String,
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--web.config.file {}: ", self.file.display())?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        // One line whatever the cause says.
        let why = self.why.split_whitespace().collect::<Vec<_>>().join(" ");
        f.write_str(&why)
    }
}

impl std::error::Error for WebConfigError {}

/// Who may scrape, and how: what the server enforces.
#[derive(Clone, Debug, Default)]
pub struct WebConfig {
    pub file: PathBuf,
    /// Serve HTTPS with these settings; `None`: plain HTTP.
    pub tls: Option<TlsSettings>,
    /// user -> bcrypt hash; empty: no authentication.
    pub users: BTreeMap<String, String>,
    /// Extra response headers (`http_server_config.headers`).
    pub headers: Vec<(String, String)>,
}

/// `tls_server_config`, checked.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_auth: ClientAuth,
    pub client_ca_file: Option<PathBuf>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// `prefer_server_cipher_suites`.
    pub prefer_server_order: bool,
}

/// `client_auth_type`, as Go's crypto/tls names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate asked for.
    NoClientCert,
    /// Asked for, not required, not verified.
    RequestClientCert,
    /// Required, not verified against a CA (the client still proves it
    /// holds the certificate's key).
    RequireAnyClientCert,
    /// Not required; verified against `client_ca_file` when given.
    VerifyClientCertIfGiven,
    /// Required and verified against `client_ca_file`.
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    const NAMES: [(&'static str, ClientAuth); 5] = [
        ("NoClientCert", Self::NoClientCert),
        ("RequestClientCert", Self::RequestClientCert),
        ("RequireAnyClientCert", Self::RequireAnyClientCert),
        ("VerifyClientCertIfGiven", Self::VerifyClientCertIfGiven),
        (
            "RequireAndVerifyClientCert",
            Self::RequireAndVerifyClientCert,
        ),
    ];

    fn parse(text: &str) -> Result<Self, String> {
        // The toolkit's older spelling of RequireAnyClientCert.
        if text == "RequireClientCert" {
            return Ok(Self::RequireAnyClientCert);
        }
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, auth)| *auth)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                format!("'{text}' is not one of {}", names.join(", "))
            })
    }

    /// Whether a client certificate is checked against `client_ca_file`.
    pub fn verifies(self) -> bool {
        matches!(
            self,
            Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert
        )
    }

    /// Whether a connection without a client certificate is refused.
    pub fn requires(self) -> bool {
        matches!(
            self,
            Self::RequireAnyClientCert | Self::RequireAndVerifyClientCert
        )
    }
}

/// TLS versions rustls speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "TLS12" => Ok(Self::Tls12),
            "TLS13" => Ok(Self::Tls13),
            "TLS10" | "TLS11" => Err(format!(
                "'{text}' is not offered (TLS 1.0 and 1.1 are obsolete): use TLS12 or TLS13"
            )),
            _ => Err(format!("'{text}' is not a TLS version: use TLS12 or TLS13")),
        }
    }
}

/// The file as written. Unknown fields are errors, as in the toolkit.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    tls_server_config: Option<TlsFormat>,
    #[serde(default)]
    http_server_config: Option<HttpFormat>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TlsFormat {
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    // Toolkit fields this exporter cannot honour: named, then refused.
    #[serde(default)]
    cipher_suites: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    curve_preferences: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    client_allowed_sans: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    cert: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    key: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HttpFormat {
    /// Accepted for compatibility: the exporter speaks HTTP/1.1 only.
    #[serde(default)]
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

/// Response headers the toolkit lets a web configuration set.
const SETTABLE_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// Reads and checks `file` (certificates and keys are loaded by the TLS
/// layer, which reports against the same fields).
pub fn load(file: &Path) -> Result<WebConfig, WebConfigError> {
    let fail = |field: &str, why: String| WebConfigError {
        file: file.to_path_buf(),
        field: field.to_string(),
        why,
    };
    let text = read_limited(file).map_err(|why| fail("", why))?;
    let format = parse(&text).map_err(|(field, why)| fail(&field, why))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let tls = match format.tls_server_config {
        Some(tls) => tls_settings(tls, dir).map_err(|(field, why)| fail(&field, why))?,
        None => None,
    };
    let users = format.basic_auth_users.unwrap_or_default();
    check_users(&users).map_err(|(field, why)| fail(&field, why))?;
    let headers = match format.http_server_config.and_then(|h| h.headers) {
        Some(headers) => check_headers(headers).map_err(|(field, why)| fail(&field, why))?,
        None => Vec::new(),
    };
    Ok(WebConfig {
        file: file.to_path_buf(),
        tls,
        users,
        headers,
    })
}

/// The file's text: see [`read_bounded`]; UTF-8.
fn read_limited(file: &Path) -> Result<String, String> {
    let bytes =
        read_bounded(file).map_err(|why| why.replace(&format!("{}: ", file.display()), ""))?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}

/// A file the web configuration names (itself, certificates, keys): a
/// regular file (a FIFO would block the start, a device never end), at
/// most [`MAX_FILE_BYTES`].
pub(crate) fn read_bounded(file: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(bytes)
}

/// YAML to the file format; `(field, why)` on error. An empty file is an
/// empty configuration (plain HTTP, no authentication), as in the toolkit.
fn parse(text: &str) -> Result<FileFormat, (String, String)> {
    if text.trim().is_empty() {
        return Ok(FileFormat::default());
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // The field at fault, when the error is in a field.
    let mut field = String::new();
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize::<_, Option<FileFormat>>(de).map_err(|e| {
            let path = e.path().to_string();
            if path != "." {
                field = path;
            }
            e.into_inner()
        })
    });
    match parsed {
        Ok(format) => Ok(format.unwrap_or_default()),
        // The parser's advice to programmers is not the user's.
        Err(e) => Err((
            field,
            e.without_snippet()
                .to_string()
                .replace(", set DuplicateKeyPolicy in Options if acceptable", ""),
        )),
    }
}

/// Where a path of the file points: relative to the file's directory.
fn resolve(dir: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

type FieldResult<T> = Result<T, (String, String)>;

fn field_err<T>(field: &str, why: impl Into<String>) -> FieldResult<T> {
    Err((format!("tls_server_config.{field}"), why.into()))
}

fn tls_settings(tls: TlsFormat, dir: &Path) -> FieldResult<Option<TlsSettings>> {
    refuse_unsupported(&tls)?;
    let (cert, key) = match (non_empty(&tls.cert_file), non_empty(&tls.key_file)) {
        (None, None) => return field_err("cert_file", "missing (and key_file too)"),
        (None, Some(_)) => return field_err("cert_file", "missing (key_file is set)"),
        (Some(_), None) => return field_err("key_file", "missing (cert_file is set)"),
        (Some(c), Some(k)) => (resolve(dir, c), resolve(dir, k)),
    };
    let client_auth = match non_empty(&tls.client_auth_type) {
        Some(text) => ClientAuth::parse(text).or_else(|why| field_err("client_auth_type", why))?,
        None => ClientAuth::NoClientCert,
    };
    let client_ca_file = non_empty(&tls.client_ca_file).map(|p| resolve(dir, p));
    match (&client_ca_file, client_auth.verifies()) {
        (None, true) => {
            return field_err(
                "client_ca_file",
                "missing: client_auth_type VerifyClientCertIfGiven and \
                 RequireAndVerifyClientCert verify client certificates against it",
            )
        }
        (Some(_), false) => {
            return field_err(
                "client_auth_type",
                "client_ca_file is set but client certificates are not verified: \
                 use VerifyClientCertIfGiven or RequireAndVerifyClientCert",
            )
        }
        _ => {}
    }
    let version = |field: &str, text: &Option<String>, default| match non_empty(text) {
        Some(t) => TlsVersion::parse(t).or_else(|why| field_err(field, why)),
        None => Ok(default),
    };
    let min_version = version("min_version", &tls.min_version, TlsVersion::Tls12)?;
    let max_version = version("max_version", &tls.max_version, TlsVersion::Tls13)?;
    if min_version > max_version {
        return field_err("max_version", "below min_version");
    }
    Ok(Some(TlsSettings {
        cert_file: cert,
        key_file: key,
        client_auth,
        client_ca_file,
        min_version,
        max_version,
        prefer_server_order: tls.prefer_server_cipher_suites.unwrap_or(false),
    }))
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.trim().is_empty())
}

/// Toolkit fields with no counterpart here: refusing them beats serving
/// something weaker than the file asks for.
fn refuse_unsupported(tls: &TlsFormat) -> FieldResult<()> {
    let present = [
        (
            "cipher_suites",
            tls.cipher_suites.is_some(),
            "rustls offers only AEAD suites with forward secrecy; remove it",
        ),
        (
            "curve_preferences",
            tls.curve_preferences.is_some(),
            "rustls chooses among X25519, P-256 and P-384; remove it",
        ),
        (
            "client_allowed_sans",
            tls.client_allowed_sans.is_some(),
            "not supported: give client certificates from a CA of their own in client_ca_file",
        ),
        (
            "cert",
            tls.cert.is_some(),
            "inline certificates are not supported: use cert_file",
        ),
        (
            "key",
            tls.key.is_some(),
            "inline keys are not supported: use key_file",
        ),
    ];
    match present.iter().find(|(_, set, _)| *set) {
        Some((field, _, why)) => field_err(field, *why),
        None => Ok(()),
    }
}

/// Every user has a bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$`) and a
/// name that can be typed in a basic auth header.
fn check_users(users: &BTreeMap<String, String>) -> FieldResult<()> {
    for (user, hash) in users {
        let field = format!("basic_auth_users.{user}");
        if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
            return Err((
                field,
                "a user name must be non-empty, without ':' or control characters".into(),
            ));
        }
        if let Err(e) = hash.parse::<bcrypt::HashParts>() {
            return Err((
                field,
                format!(
                    "not a bcrypt hash ({e}): make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
                ),
            ));
        }
    }
    Ok(())
}

fn check_headers(headers: BTreeMap<String, String>) -> FieldResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let field = format!("http_server_config.headers.{name}");
        let Some(known) = SETTABLE_HEADERS
            .iter()
            .find(|h| h.eq_ignore_ascii_case(&name))
        else {
            return Err((
                field,
                format!(
                    "not a header that can be set: use {}",
                    SETTABLE_HEADERS.join(", ")
                ),
            ));
        };
        if hyper::header::HeaderValue::from_str(&value).is_err() {
            return Err((field, "not a valid header value".into()));
        }
        out.push((known.to_string(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<WebConfig, WebConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("web.yml");
        std::fs::write(&file, text).unwrap();
        load(&file)
    }

    fn field_of(text: &str) -> (String, String) {
        let e = load_text(text).unwrap_err();
        let line = e.to_string();
        assert_eq!(line.lines().count(), 1, "{line}");
        (e.field, line)
    }

    const HASH: &str = "$2y$04$Vl2BQ1eCPaLQ0SDJtfXy7eN6nbTJEbqHTI2jT1tJL0bo1Qvu2Zh5a";

    #[test]
    fn a_full_file_parses() {
        let text = format!(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: /k/a.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
             min_version: TLS13\nhttp_server_config:\n  http2: false\n  headers:\n    \
             x-frame-options: deny\nbasic_auth_users:\n  prom: '{HASH}'\n"
        );
        let c = load_text(&text).unwrap();
        let tls = c.tls.unwrap();
        assert!(tls.cert_file.ends_with("a.crt") && tls.cert_file.is_absolute());
        assert_eq!(tls.key_file, PathBuf::from("/k/a.key"));
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert_eq!(c.users["prom"], HASH);
        assert_eq!(c.headers, vec![("X-Frame-Options".into(), "deny".into())]);
    }

    #[test]
    fn empty_files_mean_plain_http_without_auth() {
        for text in ["", "\n# nothing\n", "---\n"] {
            let c = load_text(text).unwrap();
            assert!(c.tls.is_none() && c.users.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn each_mistake_names_its_field() {
        let cases = [
            ("tls_server_config:\n  cert_fil: a\n", "tls_server_config"),
            ("tls_server_config:\n  key_file: k\n", "tls_server_config.cert_file"),
            ("tls_server_config:\n  cert_file: c\n", "tls_server_config.key_file"),
            (
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Maybe\n",
                "tls_server_config.client_auth_type",
            ),
            (
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequireAndVerifyClientCert\n",
                "tls_server_config.client_ca_file",
            ),
            (
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n",
                "tls_server_config.client_auth_type",
            ),
            (
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS10\n",
                "tls_server_config.min_version",
            ),
            (
                "tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "tls_server_config.cipher_suites",
            ),
            ("basic_auth_users:\n  prom: hunter2\n", "basic_auth_users.prom"),
            ("basic_auth_users: [a, b]\n", "basic_auth_users"),
            ("http_server_config:\n  headers:\n    Server: x\n", "http_server_config.headers.Server"),
            ("http_server_config:\n  http2: maybe\n", "http_server_config.http2"),
        ];
        for (text, want) in cases {
            let (field, line) = field_of(text);
            assert!(field.starts_with(want), "{text:?}: field {field:?}, {line}");
            assert!(line.contains(want), "{line}");
        }
    }

    #[test]
    fn broken_and_hostile_files_are_one_line() {
        for broken in [
            "tls_server_config: [\n",
            "'unterminated\n",
            "a: b: c\n",
            "- 1\n- 2\n",
        ] {
            let (_, line) = field_of(broken);
            eprintln!("{broken:?}: {line}");
        }
        // An alias bomb (10^12 nodes once expanded), in a field that takes
        // anything: bounded by the parser's budget.
        let mut bomb = String::from(
            "tls_server_config:\n  cipher_suites:\n    - &a [x, x, x, x, x, x, x, x, x, x]\n",
        );
        for i in 1..12u8 {
            let (prev, this) = ((b'a' + i - 1) as char, (b'a' + i) as char);
            let refs = vec![format!("*{prev}"); 10].join(", ");
            bomb.push_str(&format!("    - &{this} [{refs}]\n"));
        }
        eprintln!("bomb: {}", field_of(&bomb).1);
        eprintln!(
            "{}",
            field_of("tls_server_config: {cert_file: a, cert_file: b}\n").1
        );
        let dir = tempfile::tempdir().unwrap();
        let e = load(&dir.path().join("absent.yml")).unwrap_err();
        assert!(e.to_string().contains("cannot read it"), "{e}");
        let e = load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let big = dir.path().join("big.yml");
        std::fs::write(&big, vec![b'#'; (MAX_FILE_BYTES + 10) as usize]).unwrap();
        assert!(load(&big).unwrap_err().to_string().contains("larger than"));
        let binary = dir.path().join("bin.yml");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        assert!(load(&binary).unwrap_err().to_string().contains("UTF-8"));
    }
}
