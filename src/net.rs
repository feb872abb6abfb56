//! The network stack as part of the experiment.
//!
//! A transfer's cost is not only the copies the mode makes: the TCP stack underneath sets
//! the pace. Three settings change the numbers enough to be recorded with every result:
//!
//! - **Congestion control.** Linux picks an algorithm per socket (`TCP_CONGESTION`). Most
//!   only react to loss, but BBR *paces*: it spaces packets out at the bandwidth it has
//!   estimated, using a per-socket timer. On a real network that avoids queues; on
//!   loopback, where nothing is ever lost and "bandwidth" is just memory speed, the pacing
//!   rate becomes the ceiling. Measured on the development machine, bbr capped a 1 GiB
//!   sendfile at ~1.5-2 GiB/s where cubic reached ~10 GiB/s. Under that cap every mode
//!   looks equally fast, and the pacing timer's wake-ups show up as extra scheduler
//!   context switches: the very differences we want to see disappear. Hence
//!   [`CcChoice::Auto`] picks `cubic` on loopback.
//!
//!   The algorithm must be chosen *before* the connection exists: on the socket before
//!   `connect()` ([`connect_with_congestion`]), and on the listening socket, whose choice
//!   accepted sockets inherit ([`listen_with_congestion`]). Switching a connected socket
//!   from the default bbr to cubic runs bbr's `init` first (at connection set-up), which
//!   marks the socket as needing TCP's internal pacing (`sk_pacing_status`), and nothing
//!   in the switch clears that mark: the "cubic" connection stays paced by a per-socket
//!   timer, at a rate derived from cubic's window, and costs its sender about twice the
//!   CPU. docs/how-zc-measures.md shows the kernel code and the measurements.
//! - **Socket buffers.** `SO_SNDBUF`/`SO_RCVBUF` bound how much is in flight, hence how
//!   often a sender blocks; [`buffer_sizes`] reports the sizes in force (Linux reports
//!   twice what was asked for, the extra being its bookkeeping allowance).
//! - **CPU placement.** Sender and sink on the same CPU compete for it; on two CPUs they
//!   run in parallel and the cache lines travel between cores. [`Pin`] makes the choice
//!   explicit and repeatable.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::str::FromStr;

use nix::errno::Errno;
use nix::sched::{CpuSet, sched_getcpu, sched_setaffinity};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage, bind, connect, getsockopt, listen,
    setsockopt, socket, sockopt,
};
use nix::unistd::Pid;

use crate::error::UsageError;

const DEFAULT_CC: &str = "/proc/sys/net/ipv4/tcp_congestion_control";
const AVAILABLE_CC: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";
const ALLOWED_CC: &str = "/proc/sys/net/ipv4/tcp_allowed_congestion_control";

/// The listen queue a server asks for: connections the kernel completes before the
/// server has accepted them. Rust's `TcpListener::bind` asks for 128; a burst of connects
/// beyond that while the accept loop is busy (starting a thread per connection, on a busy
/// machine) overflows the queue, the kernel drops the SYN, and that client waits a whole
/// SYN retransmission timeout (1 s) to connect. The kernel caps it at `net.core.somaxconn`.
pub const LISTEN_BACKLOG: i32 = 4096;

/// A TCP socket of the family of `addr`, not yet connected or bound.
fn tcp_socket(addr: SocketAddr) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    Ok(socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?)
}

/// Connects to `addr` with congestion control `cc` chosen before the handshake, so the
/// connection is set up by `cc` alone (see the module documentation for why afterwards
/// is too late).
pub fn connect_with_congestion(addr: SocketAddr, cc: &str) -> io::Result<TcpStream> {
    let fd = tcp_socket(addr)?;
    set_congestion(fd.as_fd(), cc)?;
    connect(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    Ok(TcpStream::from(fd))
}

/// A listening socket on `addr` with congestion control `cc`, which every accepted
/// connection inherits from it (the kernel copies the listener's explicit choice into
/// each child socket instead of the system default).
pub fn listen_with_congestion(addr: SocketAddr, cc: &str) -> io::Result<TcpListener> {
    let fd = tcp_socket(addr)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    set_congestion(fd.as_fd(), cc)?;
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    listen(&fd, Backlog::new(LISTEN_BACKLOG)?)?;
    Ok(TcpListener::from(fd))
}

/// The congestion control in force on a TCP socket.
pub fn congestion(fd: BorrowedFd<'_>) -> io::Result<String> {
    let name = getsockopt(&fd, sockopt::TcpCongestion)?;
    Ok(name.to_string_lossy().into_owned())
}

/// Sets the congestion control of a TCP socket. The error says why the kernel refused:
/// not loaded (`ENOENT`) or not allowed for unprivileged users (`EPERM`).
pub fn set_congestion(fd: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    setsockopt(&fd, sockopt::TcpCongestion, &OsString::from(name))
        .map_err(|errno| congestion_error(name, errno))
}

/// The algorithm new sockets get (`net.ipv4.tcp_congestion_control`).
pub fn system_default_congestion() -> io::Result<String> {
    Ok(read_proc(DEFAULT_CC)?.trim().to_owned())
}

/// The algorithms loaded in this kernel (`net.ipv4.tcp_available_congestion_control`).
pub fn available_congestion() -> io::Result<Vec<String>> {
    read_list(AVAILABLE_CC)
}

/// The algorithms unprivileged processes may choose
/// (`net.ipv4.tcp_allowed_congestion_control`); root may choose any available one.
pub fn allowed_congestion() -> io::Result<Vec<String>> {
    read_list(ALLOWED_CC)
}

/// True for algorithms that pace their sending (BBR and its variants), which caps a
/// loopback transfer several-fold: see the module documentation.
pub fn is_pacing(name: &str) -> bool {
    name.starts_with("bbr")
}

/// Which congestion control an experiment asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CcChoice {
    /// `cubic` on loopback (pacing would hide the modes' differences), otherwise the
    /// system default.
    #[default]
    Auto,
    /// This algorithm; it must be available in the kernel.
    Named(String),
}

impl FromStr for CcChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" => Err("congestion control: expected \"auto\" or an algorithm name".into()),
            "auto" => Ok(CcChoice::Auto),
            name => Ok(CcChoice::Named(name.to_owned())),
        }
    }
}

impl fmt::Display for CcChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CcChoice::Auto => f.write_str("auto"),
            CcChoice::Named(name) => f.write_str(name),
        }
    }
}

/// The outcome of [`resolve_congestion`]: the algorithm to set on each socket, and why it is
/// not the one asked for, if it is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Congestion {
    pub name: String,
    /// A reason to warn the user, e.g. that `auto` could not get `cubic` on loopback.
    pub warning: Option<String>,
}

/// Decides which congestion control to use for a transfer to a peer that is (or is not)
/// on loopback. Permission is checked by setting the algorithm on a scratch socket, since
/// whether a process may choose it depends on its privileges, not only on the lists.
pub fn resolve_congestion(choice: &CcChoice, peer_is_loopback: bool) -> io::Result<Congestion> {
    let available = available_congestion()?;
    match choice {
        CcChoice::Named(name) => {
            if !available.contains(name) {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "congestion control {name:?} is not available; available: {} \
                         (another may need `modprobe tcp_{name}`)",
                        available.join(", ")
                    ),
                ));
            }
            try_congestion(name)?;
            Ok(Congestion {
                name: name.clone(),
                warning: None,
            })
        }
        CcChoice::Auto if peer_is_loopback => auto_on_loopback(&available),
        CcChoice::Auto => Ok(Congestion {
            name: system_default_congestion()?,
            warning: None,
        }),
    }
}

/// [`resolve_congestion`] for a `--cc` flag: a name the kernel does not have is the user's
/// mistake (a usage error, exit 2); anything else is an environment failure.
pub fn resolve_cc_flag(choice: &CcChoice, peer_is_loopback: bool) -> anyhow::Result<Congestion> {
    resolve_congestion(choice, peer_is_loopback).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            anyhow::Error::new(UsageError(format!("--cc: {e}")))
        } else {
            anyhow::Error::new(e).context("--cc: cannot choose a congestion control")
        }
    })
}

/// What a server sets on each connection it accepts: with `auto` the choice depends on
/// where the client is (cubic on loopback, the system default for the rest), so both are
/// resolved, and checked, once at start-up.
#[derive(Clone, Debug)]
pub struct PeerCongestion {
    pub loopback: Congestion,
    pub remote: Congestion,
}

impl PeerCongestion {
    pub fn resolve(choice: &CcChoice) -> anyhow::Result<Self> {
        Ok(PeerCongestion {
            loopback: resolve_cc_flag(choice, true)?,
            remote: resolve_cc_flag(choice, false)?,
        })
    }

    /// The algorithm for a connection from `peer`.
    pub fn for_peer(&self, peer: IpAddr) -> &str {
        // to_canonical: a client of a dual-stack listener may come as ::ffff:127.0.0.1.
        if peer.to_canonical().is_loopback() {
            &self.loopback.name
        } else {
            &self.remote.name
        }
    }
}

/// `auto` on loopback: `cubic` if we can get it, else the system default with a reason.
fn auto_on_loopback(available: &[String]) -> io::Result<Congestion> {
    const WANTED: &str = "cubic";
    let refused = if !available.iter().any(|name| name == WANTED) {
        format!(
            "{WANTED} is not available (available: {})",
            available.join(", ")
        )
    } else {
        match try_congestion(WANTED) {
            Ok(()) => {
                return Ok(Congestion {
                    name: WANTED.to_owned(),
                    warning: None,
                });
            }
            Err(e) => e.to_string(),
        }
    };
    let default = system_default_congestion()?;
    let warning =
        format!("wanted {WANTED} on loopback, using the system default {default}: {refused}");
    Ok(Congestion {
        name: default,
        warning: Some(warning),
    })
}

/// Sets `name` on a throwaway socket, to learn whether this process may use it.
fn try_congestion(name: &str) -> io::Result<()> {
    let scratch = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    set_congestion(scratch.as_fd(), name)
}

/// Explains a refused `TCP_CONGESTION`.
fn congestion_error(name: &str, errno: Errno) -> io::Error {
    let hint = match errno {
        Errno::ENOENT => format!(
            "not loaded in this kernel (available: {}); try `modprobe tcp_{name}`",
            list_or_unknown(available_congestion())
        ),
        Errno::EPERM => format!(
            "not allowed for unprivileged processes (allowed: {}); run as root or add it to \
             net.ipv4.tcp_allowed_congestion_control",
            list_or_unknown(allowed_congestion())
        ),
        _ => errno.desc().to_owned(),
    };
    io::Error::new(
        io::Error::from(errno).kind(),
        format!("cannot set TCP congestion control {name:?}: {errno}: {hint}"),
    )
}

fn list_or_unknown(list: io::Result<Vec<String>>) -> String {
    list.map_or_else(|e| format!("unknown: {e}"), |names| names.join(" "))
}

fn read_proc(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}

fn read_list(path: &str) -> io::Result<Vec<String>> {
    Ok(read_proc(path)?
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// The send and receive buffer sizes in force, `(SO_SNDBUF, SO_RCVBUF)`, as the kernel
/// reports them (twice the size asked for: the other half is bookkeeping allowance).
pub fn buffer_sizes(fd: BorrowedFd<'_>) -> io::Result<(usize, usize)> {
    let send = getsockopt(&fd, sockopt::SndBuf)?;
    let receive = getsockopt(&fd, sockopt::RcvBuf)?;
    Ok((send, receive))
}

/// Pins the calling thread (not the whole process) to one CPU.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    let mut set = CpuSet::new();
    let pinned = set
        .set(cpu)
        // Pid 0 means the calling thread for sched_setaffinity.
        .and_then(|()| sched_setaffinity(Pid::from_raw(0), &set));
    pinned.map_err(|errno| {
        io::Error::new(
            io::Error::from(errno).kind(),
            format!(
                "cannot pin to CPU {cpu}: {errno}: it must be online and allowed for this \
                 process (see `taskset -p $$` and /sys/devices/system/cpu/online)"
            ),
        )
    })
}

/// The CPU the calling thread is running on right now, if the kernel says.
pub fn current_cpu() -> Option<usize> {
    sched_getcpu().ok()
}

/// The number of CPUs online.
pub fn online_cpus() -> io::Result<usize> {
    // nix's sysconf needs a crate feature we do not enable; libc's is the same call.
    // SAFETY: sysconf takes an integer and touches no memory of ours.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    match usize::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(io::Error::other(format!(
            "sysconf(_SC_NPROCESSORS_ONLN) gave no count: {}",
            io::Error::last_os_error()
        ))),
    }
}

/// Where the sender and the sink run, written `SENDER,SINK` (e.g. `0,1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pin {
    pub sender: usize,
    pub sink: usize,
}

impl Pin {
    /// Checks both CPUs exist among `online` CPUs, numbered from 0. (A machine with CPUs
    /// taken offline can have gaps; [`pin_current_thread`] reports those when it fails.)
    pub fn validate(&self, online: usize) -> Result<(), PinError> {
        for (role, cpu) in [("sender", self.sender), ("sink", self.sink)] {
            if cpu >= online {
                return Err(PinError::NotOnline { role, cpu, online });
            }
        }
        Ok(())
    }
}

impl FromStr for Pin {
    type Err = PinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (sender, sink) = s.split_once(',').ok_or_else(|| PinError::Format {
            input: s.to_owned(),
        })?;
        Ok(Pin {
            sender: parse_cpu("sender", sender)?,
            sink: parse_cpu("sink", sink)?,
        })
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.sender, self.sink)
    }
}

fn parse_cpu(role: &'static str, text: &str) -> Result<usize, PinError> {
    text.trim().parse().map_err(|_| PinError::NotANumber {
        role,
        text: text.to_owned(),
    })
}

/// Why a `--pin` value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinError {
    /// Not of the form `SENDER,SINK`.
    Format { input: String },
    /// One side is not a CPU number.
    NotANumber { role: &'static str, text: String },
    /// The CPU is not among the online ones.
    NotOnline {
        role: &'static str,
        cpu: usize,
        online: usize,
    },
}

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinError::Format { input } => write!(
                f,
                "expected SENDER,SINK as two CPU numbers (e.g. 0,1), got {input:?}"
            ),
            PinError::NotANumber { role, text } => {
                write!(f, "{role} CPU {text:?} is not a CPU number (0, 1, ...)")
            }
            PinError::NotOnline { role, cpu, online } => write!(
                f,
                "{role} CPU {cpu} is not online: this machine has {online} online CPUs \
                 (0-{})",
                online - 1
            ),
        }
    }
}

impl std::error::Error for PinError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn loopback_socket() -> (TcpListener, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (listener, stream)
    }

    #[test]
    fn congestion_round_trip_on_a_real_socket() {
        let (_listener, stream) = loopback_socket();
        let mut set = 0;
        for name in available_congestion().unwrap() {
            match set_congestion(stream.as_fd(), &name) {
                Ok(()) => {
                    assert_eq!(congestion(stream.as_fd()).unwrap(), name);
                    set += 1;
                }
                // Unprivileged: only the allowed ones can be set.
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}"),
            }
        }
        assert!(set >= 1, "the system default is always allowed");
    }

    #[test]
    fn congestion_is_chosen_before_connect_and_inherited_from_the_listener() {
        let default = system_default_congestion().unwrap();
        let other = available_congestion()
            .unwrap()
            .into_iter()
            .find(|n| *n != default)
            .expect("a kernel has reno built in beside any other default");
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listener = listen_with_congestion(loopback, &other).unwrap();
        let stream = connect_with_congestion(listener.local_addr().unwrap(), &other).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert_eq!(congestion(stream.as_fd()).unwrap(), other);
        assert_eq!(congestion(accepted.as_fd()).unwrap(), other);
    }

    #[test]
    fn unknown_congestion_says_what_is_available() {
        let (_listener, stream) = loopback_socket();
        let err = set_congestion(stream.as_fd(), "no-such-cc").unwrap_err();
        assert!(err.to_string().contains("available:"), "{err}");
        let err = resolve_congestion(&CcChoice::Named("no-such-cc".into()), true).unwrap_err();
        let text = err.to_string();
        for name in available_congestion().unwrap() {
            assert!(text.contains(&name), "{text}");
        }
    }

    #[test]
    fn auto_prefers_cubic_on_loopback_and_the_default_elsewhere() {
        let loopback = resolve_congestion(&CcChoice::Auto, true).unwrap();
        match &loopback.warning {
            None => assert_eq!(loopback.name, "cubic"),
            Some(reason) => {
                assert_eq!(loopback.name, system_default_congestion().unwrap());
                assert!(reason.contains("cubic"), "{reason}");
            }
        }
        let remote = resolve_congestion(&CcChoice::Auto, false).unwrap();
        assert_eq!(remote.name, system_default_congestion().unwrap());
        assert_eq!(remote.warning, None);
    }

    #[test]
    fn named_available_congestion_resolves_to_itself() {
        let default = system_default_congestion().unwrap();
        let resolved = resolve_congestion(&CcChoice::Named(default.clone()), true).unwrap();
        assert_eq!(resolved.name, default);
    }

    #[test]
    fn cc_choice_parses() {
        assert_eq!("auto".parse(), Ok(CcChoice::Auto));
        assert_eq!("reno".parse(), Ok(CcChoice::Named("reno".into())));
        assert!("".parse::<CcChoice>().is_err());
        assert_eq!(CcChoice::Named("bbr".into()).to_string(), "bbr");
    }

    #[test]
    fn bbr_paces_cubic_does_not() {
        assert!(is_pacing("bbr"));
        assert!(is_pacing("bbr2"));
        assert!(!is_pacing("cubic"));
        assert!(!is_pacing("reno"));
    }

    #[test]
    fn buffer_sizes_are_non_zero() {
        let (_listener, stream) = loopback_socket();
        let (send, receive) = buffer_sizes(stream.as_fd()).unwrap();
        assert!(send > 0 && receive > 0);
    }

    #[test]
    fn pin_parses_and_explains_errors() {
        assert_eq!("0,1".parse(), Ok(Pin { sender: 0, sink: 1 }));
        assert_eq!(" 1 , 0 ".parse(), Ok(Pin { sender: 1, sink: 0 }));
        let format = "0".parse::<Pin>().unwrap_err();
        assert!(format.to_string().contains("SENDER,SINK"), "{format}");
        let sink = "0,x".parse::<Pin>().unwrap_err();
        assert_eq!(
            sink,
            PinError::NotANumber {
                role: "sink",
                text: "x".into()
            }
        );
        assert!(sink.to_string().contains("sink CPU \"x\""), "{sink}");
        assert!("-1,0".parse::<Pin>().is_err());
    }

    #[test]
    fn pin_validates_against_online_cpus() {
        let pin = Pin { sender: 0, sink: 3 };
        assert_eq!(pin.validate(4), Ok(()));
        let err = pin.validate(2).unwrap_err();
        assert!(
            err.to_string().contains("sink CPU 3 is not online"),
            "{err}"
        );
        assert!(online_cpus().unwrap() >= 1);
    }

    #[test]
    fn pinned_thread_runs_on_its_cpu() {
        // The highest CPU this process may use (a cgroup or taskset may exclude some).
        let allowed = nix::sched::sched_getaffinity(Pid::from_raw(0)).unwrap();
        let last = (0..CpuSet::count())
            .rev()
            .find(|&cpu| allowed.is_set(cpu).unwrap_or(false))
            .unwrap();
        let ran_on = std::thread::spawn(move || {
            pin_current_thread(last).unwrap();
            current_cpu()
        })
        .join()
        .unwrap();
        assert_eq!(ran_on, Some(last));
        assert!(pin_current_thread(100_000).is_err());
    }
}
