//! The web interface's access token. What it unlocks (the apps' environment
//! under `pm2 web --env`) is otherwise readable only through PM2_HOME, so
//! the token is kept there too: random, in `PM2_HOME/web.token`, mode 0600,
//! made when first needed and replaced by `pm2 web --new-token`. A request
//! presents it as `Authorization: Bearer <token>` or `?token=<token>`.

use super::http::{Request, Response};
use pm2_config::Paths;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "web.token";
/// Random bytes in a token made here (written as hex).
const RANDOM_BYTES: usize = 32;
/// A token written by hand must be at least this long.
const MIN_LEN: usize = 32;
const MAX_LEN: usize = 256;

pub fn file(paths: &Paths) -> PathBuf {
    paths.home.join(FILE_NAME)
}

/// The token in PM2_HOME, made now if there is none.
pub fn load_or_create(paths: &Paths) -> Result<String, String> {
    match read(&file(paths))? {
        Some(token) => Ok(token),
        None => create(paths),
    }
}

/// Writes a new token in place of any previous one and returns it.
pub fn create(paths: &Paths) -> Result<String, String> {
    let path = file(paths);
    let token = generate().map_err(|e| format!("web: cannot make a token: {e}"))?;
    // write_atomic creates the file 0600 before anything is written to it.
    pm2_config::write_atomic(&path, format!("{token}\n").as_bytes())
        .map_err(|e| format!("web: cannot write {}: {e}", path.display()))?;
    Ok(token)
}

/// The token in `path`, `None` when there is no file; a token other users
/// could read, or one that is not a token, is refused with what to do.
fn read(path: &Path) -> Result<Option<String>, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("web: cannot read {}: {e}", path.display())),
    };
    if !meta.is_file() {
        return Err(format!(
            "web: {} is not a regular file; remove it, or run `pm2 web --new-token`",
            path.display()
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "web: {} is open to other users (mode {mode:o}), so the token no longer keeps anyone out; run `pm2 web --new-token` to replace it",
            path.display()
        ));
    }
    let bytes = pm2_config::safe_fs::read_limited(path, MAX_LEN as u64 + 2)
        .map_err(|e| format!("web: cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let token = text.trim();
    if !valid(token) {
        return Err(format!(
            "web: {} does not hold a token ({MIN_LEN} to {MAX_LEN} characters among A-Z a-z 0-9 - . _ ~); run `pm2 web --new-token`",
            path.display()
        ));
    }
    Ok(Some(token.to_string()))
}

/// Long enough, and made of characters that pass unchanged in a URL query.
fn valid(token: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn generate() -> std::io::Result<String> {
    let mut bytes = [0u8; RANDOM_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The token a request carries: its `Authorization: Bearer` header, else
/// its `token` query parameter.
pub fn presented(req: &Request) -> Option<&str> {
    let bearer = req.authorization.as_deref().and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    bearer.or_else(|| {
        req.query
            .as_deref()?
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
    })
}

/// Lets a request through when it carries the token `expected`; else the
/// refusal `reply` builds, 401 with `missing` when it carries none, 403 with
/// `wrong` when it carries another, and a header naming the scheme.
pub fn authorize(
    req: &Request,
    expected: Option<&str>,
    missing: &str,
    wrong: &str,
    reply: impl Fn(u16, &str) -> Response,
) -> Result<(), Response> {
    let (status, why) = match (presented(req), expected) {
        (Some(given), Some(expected)) if matches(given, expected) => return Ok(()),
        (None, _) => (401, missing),
        _ => (403, wrong),
    };
    let mut refusal = reply(status, why);
    refusal
        .headers
        .push(r#"WWW-Authenticate: Bearer realm="pm2 web""#.into());
    Err(refusal)
}

/// Whether `presented` is `expected`, in a time that does not depend on
/// where they differ (the length of a token is no secret).
pub fn matches(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn home(tag: &str) -> Paths {
        let dir = std::env::temp_dir().join(format!("pm2-token-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let paths = Paths::new(&dir);
        paths.init_file_structure().unwrap();
        paths
    }

    #[test]
    fn made_once_private_and_replaced_on_demand() {
        let paths = home("make");
        let first = load_or_create(&paths).unwrap();
        assert_eq!(first.len(), 2 * RANDOM_BYTES);
        assert!(valid(&first));
        let mode = fs::metadata(file(&paths)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&paths).unwrap(), first, "kept across loads");
        let second = create(&paths).unwrap();
        assert_ne!(second, first);
        assert_eq!(load_or_create(&paths).unwrap(), second);
        fs::remove_dir_all(&paths.home).unwrap();
    }

    #[test]
    fn a_token_others_can_read_or_a_bad_one_is_refused() {
        let paths = home("bad");
        let f = file(&paths);
        fs::write(&f, "short\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load_or_create(&paths)
            .unwrap_err()
            .contains("does not hold a token"));
        fs::write(&f, format!("{}\n", "a".repeat(40))).unwrap();
        assert_eq!(load_or_create(&paths).unwrap(), "a".repeat(40));
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&paths).unwrap_err();
        assert!(
            err.contains("open to other users (mode 644)") && err.contains("--new-token"),
            "{err}"
        );
        create(&paths).unwrap();
        assert!(read(&f).unwrap().is_some(), "a new token is private again");
        fs::remove_dir_all(&paths.home).unwrap();
    }

    fn req(authorization: Option<&str>, query: Option<&str>) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            host: None,
            authorization: authorization.map(str::to_string),
            query: query.map(str::to_string),
            origin: None,
            content_type: None,
            content_length: None,
            body: Vec::new(),
        }
    }

    #[test]
    fn a_token_comes_in_the_header_or_the_query() {
        assert_eq!(presented(&req(Some("Bearer abc"), None)), Some("abc"));
        assert_eq!(presented(&req(Some("bearer  abc "), None)), Some("abc"));
        assert_eq!(presented(&req(None, Some("x=1&token=abc"))), Some("abc"));
        assert_eq!(presented(&req(Some("Basic abc"), None)), None);
        assert_eq!(presented(&req(None, Some("tokens=abc"))), None);
        assert_eq!(presented(&req(None, None)), None);
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(matches("abcdef", "abcdef"));
        assert!(!matches("abcdeF", "abcdef"));
        assert!(!matches("abc", "abcdef"));
        assert!(!matches("", "abcdef"));
    }
}
