//! The pm2 package's folder, found from one of its native files (the CLI, the
//! daemon or the addon), to reach its JavaScript (`lib/container.js`,
//! `lib/serve.js`). The native files sit either inside the package, in
//! `<package>/npm/<platform>/` (a checkout, or a tarball packed from one),
//! or in the platform package `pm2-<platform>`, which npm installs beside
//! `pm2` (`node_modules/pm2-<platform>/`) or inside it
//! (`node_modules/pm2/node_modules/pm2-<platform>/`).

use std::path::{Path, PathBuf};

/// The package folder for the native file `native`: the first candidate
/// that holds `lib/container.js`; `<native>/../..` when none does (so a
/// missing file is reported at the path a checkout would have it).
pub fn package_dir(native: &Path) -> PathBuf {
    // Through symlinks (macOS reports an executable by the path it was run by).
    let native = std::fs::canonicalize(native).unwrap_or_else(|_| native.to_path_buf());
    let dir = native.parent().unwrap_or(Path::new("."));
    let inside = dir.parent().and_then(Path::parent).map(Path::to_path_buf);
    let beside = dir.parent().map(|modules| modules.join("pm2"));
    [inside.clone(), beside]
        .into_iter()
        .flatten()
        .find(|pkg| pkg.join("lib").join("container.js").is_file())
        .or(inside)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(at: &Path) {
        std::fs::create_dir_all(at.join("lib")).unwrap();
        std::fs::write(at.join("lib").join("container.js"), "").unwrap();
    }

    #[test]
    fn finds_the_package_from_each_layout() {
        let tmp = std::env::temp_dir().join(format!("pm2-pkgdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        // A checkout: <pkg>/npm/linux-x64-gnu/pm2-cli.
        let checkout = tmp.join("checkout");
        package(&checkout);
        let exe = checkout.join("npm").join("linux-x64-gnu").join("pm2-cli");
        assert_eq!(package_dir(&exe), checkout);
        // Installed side by side: node_modules/pm2 and node_modules/pm2-<platform>.
        let modules = tmp.join("app").join("node_modules");
        package(&modules.join("pm2"));
        let exe = modules.join("pm2-darwin-arm64").join("pm2-daemon");
        assert_eq!(package_dir(&exe), modules.join("pm2"));
        // Nested: node_modules/pm2/node_modules/pm2-<platform>.
        let exe = modules
            .join("pm2")
            .join("node_modules")
            .join("pm2-linux-arm64-musl")
            .join("pm2.linux-arm64-musl.node");
        assert_eq!(package_dir(&exe), modules.join("pm2"));
        // Nowhere: where a checkout would have it.
        let exe = tmp.join("x").join("y").join("pm2-cli");
        assert_eq!(package_dir(&exe), tmp.join("x").parent().unwrap());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
