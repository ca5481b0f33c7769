//! What this process has put on the wire to TigerBeetle: the bytes of its TCP
//! connections to the server that the server's kernel has acknowledged
//! (`tcpi_bytes_acked` of `TCP_INFO`). Acknowledged bytes sit in the server's receive
//! queue even while the server is paused, and the server reads them when it resumes,
//! whatever happens to this process. A worker uses it to hold at `record-in-flight` only
//! once its request has really been sent: the client library hands a request to its own
//! I/O thread, which sends it a moment later.

/// The bytes a request creating `account_count` accounts puts on the wire: a 256-byte
/// header and a 128-byte account each.
pub(crate) fn create_request_bytes(account_count: usize) -> u64 {
    256 + 128 * account_count as u64
}

/// The ports of a TigerBeetle address list (`127.0.0.1:3000,127.0.0.1:3001`).
pub(crate) fn ports_of(addresses: &str) -> Vec<u16> {
    addresses
        .split(',')
        .filter_map(|address| address.rsplit(':').next()?.trim().parse().ok())
        .collect()
}

/// The bytes this process sent on its TCP connections to one of `ports` (on any host)
/// that the other end has acknowledged. `None` when its descriptors cannot be listed.
pub(crate) fn acked_bytes_to(ports: &[u16]) -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    let mut acked = 0;
    for entry in entries.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(descriptor) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        if is_socket && peer_port(descriptor).is_some_and(|port| ports.contains(&port)) {
            acked += bytes_acked(descriptor).unwrap_or(0);
        }
    }
    Some(acked)
}

/// The remote port of an IPv4 socket.
fn peer_port(descriptor: libc::c_int) -> Option<u16> {
    // SAFETY: getpeername writes at most `length` bytes into the zeroed address.
    let mut address: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let result = unsafe {
        libc::getpeername(
            descriptor,
            (&mut address as *mut libc::sockaddr_in).cast(),
            &mut length,
        )
    };
    let is_ipv4 = address.sin_family == libc::AF_INET as libc::sa_family_t;
    (result == 0 && is_ipv4).then(|| u16::from_be(address.sin_port))
}

/// The bytes of a TCP socket that its peer has acknowledged.
fn bytes_acked(descriptor: libc::c_int) -> Option<u64> {
    // SAFETY: getsockopt writes at most `length` bytes into the zeroed struct.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut length = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let result = unsafe {
        libc::getsockopt(
            descriptor,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut length,
        )
    };
    (result == 0).then_some(info.tcpi_bytes_acked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::{Duration, Instant};

    #[test]
    fn ports_come_from_every_address() {
        assert_eq!(ports_of("127.0.0.1:3000,127.0.0.1:3001"), vec![3000, 3001]);
        assert_eq!(ports_of("3000"), vec![3000]);
    }

    #[test]
    fn bytes_written_to_a_peer_that_does_not_read_are_acked_by_its_kernel() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
        let port = listener.local_addr().expect("its address").port();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (_accepted, _) = listener.accept().expect("accept, and never read");
        let before = acked_bytes_to(&[port]).expect("the descriptors");
        stream.write_all(&[7; 500]).expect("write");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let acked = acked_bytes_to(&[port]).expect("the descriptors");
            if acked >= before + 500 {
                break;
            }
            assert!(Instant::now() < deadline, "acked {acked}, before {before}");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(acked_bytes_to(&[1]), Some(0), "no connection to port 1");
    }
}
