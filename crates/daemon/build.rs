//! Links the `pm2-daemon` binary with its working code packed together.
//!
//! `hot-code.txt` lists the functions an everyday session runs (made by
//! `scripts/hot-code.js`). The linker puts them first, side by side, so the
//! pages of code a running daemon keeps resident hold that code and not its
//! neighbours: the kernel maps 64 kB around each page of code it faults in,
//! and with the functions in their usual order nearly every one of those
//! windows holds one that runs. Only where the linker is LLD with this list
//! option, which is Rust's default for x86_64 Linux; a release build only.

use std::env;
use std::path::Path;

fn main() {
    let list = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("hot-code.txt");
    println!("cargo:rerun-if-changed={}", list.display());
    let lld_by_default = env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu");
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    // Another linker chosen by hand may not know the option.
    let other_linker = flags.contains("linker=") || flags.contains("linker-features=-lld");
    let release = env::var("PROFILE").as_deref() == Ok("release");
    if lld_by_default && release && !other_linker && list.exists() {
        println!(
            "cargo:rustc-link-arg-bin=pm2-daemon=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        // Names of code changed since the list was made are not errors.
        println!("cargo:rustc-link-arg-bin=pm2-daemon=-Wl,--no-warn-symbol-ordering");
    }
}
