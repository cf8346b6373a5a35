//! Build-script helper shared by every tool: compiles `bpf/<tool>.bpf.c` with
//! clang and writes the libbpf-rs skeleton to `$OUT_DIR/<tool>.skel.rs`.
//!
//! A tool's `build.rs` is one line: `contrace_build::skeleton("constat")`.
//! The tool then includes the skeleton with `include!`:
//! `include!(concat!(env!("OUT_DIR"), "/constat.skel.rs"))`.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use libbpf_cargo::SkeletonBuilder;

/// Directory holding the BPF C programs and their headers (this crate's root).
fn bpf_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The clang to use: `$CLANG` if set, else `clang` from PATH.
fn clang() -> PathBuf {
    env::var_os("CLANG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("clang"))
}

/// Fails the build with one actionable line when clang cannot run.
fn require_clang(clang: &Path) {
    let ok = Command::new(clang)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        panic!(
            "\n\ncontrace: cannot run `{}` to compile the BPF programs.\n\
             Fix: install clang (Debian/Ubuntu: `sudo apt-get install clang libelf-dev zlib1g-dev pkg-config`,\n\
             or run `scripts/setup`), or point CLANG=/path/to/clang at one (clang >= 11).\n",
            clang.display()
        );
    }
}

/// `-D__TARGET_ARCH_<arch>` for the architecture being built for, so the
/// BPF programs read the right `struct pt_regs` fields.
fn target_arch_define() -> OsString {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let bpf_arch = match arch.as_str() {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        "riscv64" => "riscv",
        "powerpc64" => "powerpc",
        "s390x" => "s390",
        other => panic!("contrace: no BPF target mapping for architecture {other}"),
    };
    OsString::from(format!("-D__TARGET_ARCH_{bpf_arch}"))
}

/// Compiles `bpf/<name>.bpf.c` and generates `$OUT_DIR/<name>.skel.rs`.
pub fn skeleton(name: &str) {
    let dir = bpf_dir();
    let src = dir.join(format!("{name}.bpf.c"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"))
        .join(format!("{name}.skel.rs"));
    let clang = clang();
    require_clang(&clang);

    let include = dir.join("include");
    let mut include_arg = OsString::from("-I");
    include_arg.push(&include);
    let mut local_arg = OsString::from("-I");
    local_arg.push(&dir);

    if let Err(e) = SkeletonBuilder::new()
        .source(&src)
        .clang(&clang)
        .clang_args([
            include_arg,
            local_arg,
            target_arch_define(),
            OsString::from("-Wall"),
            OsString::from("-Werror"),
        ])
        .build_and_generate(&out)
    {
        panic!("contrace: building BPF program {}: {e:#}", src.display());
    }

    println!("cargo:rerun-if-changed={}", src.display());
    println!(
        "cargo:rerun-if-changed={}",
        dir.join(format!("{name}.h")).display()
    );
    println!("cargo:rerun-if-changed={}", include.display());
    println!("cargo:rerun-if-env-changed=CLANG");
}
