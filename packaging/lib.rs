//! Packaging only: `[package.metadata.deb]` in this crate's Cargo.toml
//! describes the Debian package of the four tools, built by scripts/deb
//! with cargo-deb. No code.
