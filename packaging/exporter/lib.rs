//! Packaging only: `[package.metadata.deb]` in this crate's Cargo.toml
//! describes the Debian package contrace-exporter (the exporter as a
//! systemd service), built by scripts/deb with cargo-deb. No code.
