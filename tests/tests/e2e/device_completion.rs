//! `conbiograph --device <TAB>` offers this machine's block devices: every
//! entry of /sys/block (each a link into /sys/devices) and its partitions.

use std::path::Path;

use contrace_tests::bin;

/// What bash completion offers for `conbiograph --device PREFIX`
/// (clap_complete's protocol, as the script from `--generate-completions
/// bash` calls it).
fn complete_device(prefix: &str) -> Vec<String> {
    let out = std::process::Command::new(bin("conbiograph"))
        .args(["--", "conbiograph", "--device", prefix])
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "false")
        .env("_CLAP_IFS", "\n")
        .output()
        .expect("run the completion");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut offered: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    offered.sort();
    offered
}

/// The ground truth: the disks sysfs lists, and their partitions (the
/// subdirectories named after the disk that hold a `partition` file).
fn block_devices() -> Vec<String> {
    let sys = Path::new("/sys/block");
    let mut names = Vec::new();
    for disk in std::fs::read_dir(sys).expect("read /sys/block").flatten() {
        let disk = disk.file_name().to_string_lossy().into_owned();
        for part in std::fs::read_dir(sys.join(&disk))
            .expect("read a disk")
            .flatten()
        {
            let part = part.file_name().to_string_lossy().into_owned();
            if part.starts_with(&disk) && sys.join(&disk).join(&part).join("partition").exists() {
                names.push(part);
            }
        }
        names.push(disk);
    }
    names.sort();
    names
}

#[test]
fn device_completion_offers_every_disk_and_partition() {
    let devices = block_devices();
    assert!(!devices.is_empty(), "no block device in /sys/block");
    assert_eq!(complete_device(""), devices);
    // A typed prefix narrows the list to the names that start with it.
    let first = &devices[0];
    let prefix = &first[..first.len().min(2)];
    let expected: Vec<String> = devices
        .iter()
        .filter(|d| d.starts_with(prefix))
        .cloned()
        .collect();
    assert_eq!(complete_device(prefix), expected);
}
