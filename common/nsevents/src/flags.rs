//! CLONE_* flags as names: every known bit by name, in bit order, and any
//! unknown remainder as hex, so nothing the caller passed is hidden.

/// `uapi/linux/sched.h`, lowest bit first. `CLONE_NEWTIME` (0x80) lives in
/// clone(2)'s exit-signal byte: it only means CLONE_NEWTIME for unshare,
/// setns and clone3.
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x0000_0080, "CLONE_NEWTIME"),
    (0x0000_0100, "CLONE_VM"),
    (0x0000_0200, "CLONE_FS"),
    (0x0000_0400, "CLONE_FILES"),
    (0x0000_0800, "CLONE_SIGHAND"),
    (0x0000_1000, "CLONE_PIDFD"),
    (0x0000_2000, "CLONE_PTRACE"),
    (0x0000_4000, "CLONE_VFORK"),
    (0x0000_8000, "CLONE_PARENT"),
    (0x0001_0000, "CLONE_THREAD"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0004_0000, "CLONE_SYSVSEM"),
    (0x0008_0000, "CLONE_SETTLS"),
    (0x0010_0000, "CLONE_PARENT_SETTID"),
    (0x0020_0000, "CLONE_CHILD_CLEARTID"),
    (0x0040_0000, "CLONE_DETACHED"),
    (0x0080_0000, "CLONE_UNTRACED"),
    (0x0100_0000, "CLONE_CHILD_SETTID"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
    (0x1_0000_0000, "CLONE_CLEAR_SIGHAND"),
    (0x2_0000_0000, "CLONE_INTO_CGROUP"),
];

/// clone(2)'s low byte: the signal sent to the parent when the child exits.
pub const CSIGNAL: u64 = 0xff;

/// `CLONE_NEWNS|CLONE_NEWUTS|0x1000000000`: known bits by name in bit order,
/// then what is left in hex. `0` for no flags.
pub fn clone_flags(flags: u64) -> String {
    let mut parts = Vec::new();
    let mut rest = flags;
    for &(bit, name) in CLONE_FLAGS {
        if flags & bit != 0 {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

/// clone(2) flags: the low byte is the exit signal (`SIGCHLD`), the rest
/// are CLONE_* bits.
pub fn legacy_clone_flags(flags: u64) -> String {
    let signal = (flags & CSIGNAL) as i32;
    let high = clone_flags(flags & !CSIGNAL);
    if signal == 0 {
        return high;
    }
    let sig = signal_name(signal);
    if flags & !CSIGNAL == 0 {
        sig
    } else {
        format!("{high}|{sig}")
    }
}

/// setns(2)'s nstype: the namespace type required of the fd, 0 for any.
pub fn nstype(nstype: u64) -> String {
    if nstype == 0 {
        "any".into()
    } else {
        clone_flags(nstype)
    }
}

fn signal_name(signal: i32) -> String {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(sig) => sig.as_str().to_string(),
        Err(_) => format!("signal {signal}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_bit_in_order() {
        assert_eq!(
            clone_flags(0x6c02_0000),
            "CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET"
        );
        assert_eq!(clone_flags(0x0202_0000), "CLONE_NEWNS|CLONE_NEWCGROUP");
        assert_eq!(
            clone_flags(0x0004_0600),
            "CLONE_FS|CLONE_FILES|CLONE_SYSVSEM"
        );
        assert_eq!(clone_flags(0), "0");
        assert_eq!(clone_flags(0x80), "CLONE_NEWTIME");
        assert_eq!(
            clone_flags(0x3_0000_0000),
            "CLONE_CLEAR_SIGHAND|CLONE_INTO_CGROUP"
        );
    }

    #[test]
    fn unknown_bits_are_kept_as_hex() {
        assert_eq!(clone_flags(0x100_0000_0000), "0x10000000000");
        assert_eq!(
            clone_flags(0x4000_0000 | 0x10_0000_0000 | 0x1),
            "CLONE_NEWNET|0x1000000001"
        );
        assert_eq!(
            clone_flags(u64::MAX).matches('|').count(),
            CLONE_FLAGS.len()
        );
    }

    #[test]
    fn clone_low_byte_is_the_exit_signal() {
        assert_eq!(legacy_clone_flags(0x2000_0011), "CLONE_NEWPID|SIGCHLD");
        assert_eq!(legacy_clone_flags(0x11), "SIGCHLD");
        assert_eq!(legacy_clone_flags(0x4000_0000), "CLONE_NEWNET");
        assert_eq!(
            legacy_clone_flags(0x4000_0000 | 0x7f),
            "CLONE_NEWNET|signal 127"
        );
    }

    #[test]
    fn nstype_zero_is_any() {
        assert_eq!(nstype(0), "any");
        assert_eq!(nstype(0x4000_0000), "CLONE_NEWNET");
    }
}
