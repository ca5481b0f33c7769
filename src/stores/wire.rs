//! What this process has on the wire to TigerBeetle: the bytes of its TCP connections to
//! the server that the server has not read yet (in this process's send queues, or in the
//! server's receive queues on loopback), read from the kernel's `/proc/net/tcp`. A worker
//! uses it to hold at `record-in-flight` only once its request has really been sent: the
//! client library hands a request to its own I/O thread, which sends it a moment later.

use std::collections::HashSet;

/// The smallest request a create puts on the wire: a 256-byte header and one 128-byte
/// account.
pub const CREATE_REQUEST_BYTES: u64 = 256 + 128;

/// The ports of a TigerBeetle address list (`127.0.0.1:3000,127.0.0.1:3001`).
pub fn ports_of(addresses: &str) -> Vec<u16> {
    addresses
        .split(',')
        .filter_map(|address| address.rsplit(':').next()?.trim().parse().ok())
        .collect()
}

/// The bytes sent by this process to one of `ports` that the server has not read yet.
/// `None` when the kernel's tables cannot be read.
pub fn unread_bytes_to(ports: &[u16]) -> Option<u64> {
    let own = own_socket_inodes()?;
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let sockets: Vec<TcpSocket> = table.lines().skip(1).filter_map(parse_line).collect();
    Some(unread(&sockets, &own, ports))
}

/// One established IPv4 TCP socket of the table.
#[derive(Debug, PartialEq, Eq)]
struct TcpSocket {
    local_port: u16,
    remote_port: u16,
    send_queue: u64,
    receive_queue: u64,
    inode: u64,
}

const ESTABLISHED: &str = "01";

fn parse_line(line: &str) -> Option<TcpSocket> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let port = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
    if fields.get(3) != Some(&ESTABLISHED) {
        return None;
    }
    let (send_queue, receive_queue) = fields.get(4)?.split_once(':')?;
    Some(TcpSocket {
        local_port: port(fields.get(1)?)?,
        remote_port: port(fields.get(2)?)?,
        send_queue: u64::from_str_radix(send_queue, 16).ok()?,
        receive_queue: u64::from_str_radix(receive_queue, 16).ok()?,
        inode: fields.get(9)?.parse().ok()?,
    })
}

fn unread(sockets: &[TcpSocket], own: &HashSet<u64>, ports: &[u16]) -> u64 {
    let mine: Vec<&TcpSocket> = sockets
        .iter()
        .filter(|socket| own.contains(&socket.inode) && ports.contains(&socket.remote_port))
        .collect();
    let sent_not_delivered: u64 = mine.iter().map(|socket| socket.send_queue).sum();
    let delivered_not_read: u64 = sockets
        .iter()
        .filter(|socket| {
            ports.contains(&socket.local_port)
                && mine.iter().any(|own| own.local_port == socket.remote_port)
        })
        .map(|socket| socket.receive_queue)
        .sum();
    sent_not_delivered + delivered_not_read
}

fn own_socket_inodes() -> Option<HashSet<u64>> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(
        entries
            .flatten()
            .filter_map(|entry| {
                let target = std::fs::read_link(entry.path()).ok()?;
                let target = target.to_str()?;
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_every_address() {
        assert_eq!(ports_of("127.0.0.1:3000,127.0.0.1:3001"), vec![3000, 3001]);
        assert_eq!(ports_of("3000"), vec![3000]);
    }

    #[test]
    fn unread_bytes_count_our_queue_and_the_servers_queue_toward_it() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 0100007F:9C40 01 00000000:00000180 00:00000000 00000000     0        0 2000 1 0
   1: 0100007F:9C40 0100007F:0BB8 01 00000010:00000000 00:00000000 00000000     0        0 1000 1 0
   2: 0100007F:0BB8 0100007F:9C41 01 00000000:00000999 00:00000000 00000000     0        0 3000 1 0
   3: 0100007F:0BB8 00000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 4000 1 0";
        let sockets: Vec<TcpSocket> = table.lines().skip(1).filter_map(parse_line).collect();
        assert_eq!(sockets.len(), 3, "the listening socket is not a connection");
        let own: HashSet<u64> = [1000].into_iter().collect();
        // Ours (port 0x9C40) has 0x10 unsent; the server (port 3000) holds 0x180 unread
        // from us; another client's unread bytes (0x999) are not ours.
        assert_eq!(unread(&sockets, &own, &[3000]), 0x10 + 0x180);
        assert_eq!(unread(&sockets, &own, &[3001]), 0);
    }

    #[test]
    fn this_process_reads_the_tables() {
        assert!(unread_bytes_to(&[1]).is_some());
    }
}
