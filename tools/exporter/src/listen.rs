//! `--listen`: an IP:PORT (no name lookup: the static build has no NSS),
//! bound before anything else so a bad address fails in one line.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

/// Exit status when the address cannot be listened on (in use, not an
/// address of this host, privileged port).
pub const EXIT_LISTEN: u8 = 3;

/// Parses `--listen`: `0.0.0.0:9808`, `127.0.0.1:9808`, `[::]:9808`.
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse::<SocketAddr>().map_err(|_| {
        format!(
            "'{text}' is not an IP:PORT address (e.g. 0.0.0.0:9808, 127.0.0.1:9808 or \
             [::]:9808; host names are not looked up)"
        )
    })
}

/// The address could not be listened on; exit status [`EXIT_LISTEN`].
#[derive(Debug)]
pub struct ListenError {
    pub addr: SocketAddr,
    pub source: io::Error,
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = self.addr;
        let why = match self.source.raw_os_error() {
            Some(libc::EADDRINUSE) => {
                "the port is in use by another process: stop it or pick another port with --listen"
                    .to_string()
            }
            Some(libc::EADDRNOTAVAIL) => {
                "that IP is not an address of this host: use one it has, or 0.0.0.0".to_string()
            }
            Some(libc::EACCES) => {
                "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE): pick a port \
                 above 1023 with --listen"
                    .to_string()
            }
            _ => format!("{}", self.source),
        };
        write!(f, "cannot listen on {addr}: {why}")
    }
}

impl std::error::Error for ListenError {}

/// Binds `addr`, with TCP keepalive on (accepted sockets inherit it):
/// connections whose peer vanished end instead of lingering.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, ListenError> {
    let listener = TcpListener::bind(addr).map_err(|source| ListenError { addr, source })?;
    let on: libc::c_int = 1;
    // SAFETY: the listener's open socket; `on` is a C int of the size
    // passed, living across the call.
    let failed = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) != 0
    };
    if failed {
        return Err(ListenError {
            addr,
            source: io::Error::last_os_error(),
        });
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_names_do_not() {
        assert_eq!(parse("0.0.0.0:9808").unwrap().port(), 9808);
        assert!(parse("[::]:9808").unwrap().is_ipv6());
        for bad in [
            "localhost:9808",
            "9808",
            ":9808",
            "1.2.3.4",
            "1.2.3.4:99999",
            "",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("IP:PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_port_in_use_is_named() {
        let first = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let err = bind(addr).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&addr.to_string()), "{text}");
        assert!(text.contains("in use"), "{text}");
    }
}
