//! A loopback TCP proxy that can take a server away and give it back, on the same port:
//!
//! ```ignore
//! let proxy = TcpProxy::start(pg_addr).await;   // point the client at proxy.addr()
//! proxy.block();     // live connections closed; new ones accepted and closed at once
//! proxy.unblock();   // forwarded again
//! ```
//!
//! Blocking keeps the port bound (accept-and-drop) rather than closing the listener, so the
//! port cannot be lost to another process and "unblock" needs no rebind.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy. Dropping it stops it and closes every connection.
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

struct Shared {
    blocked: AtomicBool,
    /// Bumped by `block`: every forwarding task watching it closes its two sockets.
    epoch: watch::Sender<u64>,
    /// Connections refused while blocked.
    refused: AtomicUsize,
}

impl TcpProxy {
    /// Listens on `127.0.0.1` and a free port, forwarding each connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("TCP proxy: bind a loopback port");
        let addr = listener.local_addr().expect("TCP proxy: local address");
        let (epoch, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            blocked: AtomicBool::new(false),
            epoch,
            refused: AtomicUsize::new(0),
        });
        let server = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&shared)));
        TcpProxy {
            addr,
            shared,
            server,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every live connection and refuses new ones (accepted, then closed at once)
    /// until [`unblock`](Self::unblock).
    pub fn block(&self) {
        self.shared.blocked.store(true, Ordering::SeqCst);
        self.shared.epoch.send_modify(|epoch| *epoch += 1);
    }

    /// Forwards new connections again.
    pub fn unblock(&self) {
        self.shared.blocked.store(false, Ordering::SeqCst);
    }

    /// Connections refused while blocked.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.server.abort();
        // Closes the forwarding tasks' sockets too.
        self.shared.epoch.send_modify(|epoch| *epoch += 1);
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if shared.blocked.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        // Subscribed before the task starts, so a `block` right after this accept still
        // reaches it.
        let epoch = shared.epoch.subscribe();
        tokio::spawn(forward(client, upstream, epoch));
    }
}

/// Copies both ways until either side closes or the proxy blocks; dropping the streams on
/// return closes both connections.
async fn forward(mut client: TcpStream, upstream: SocketAddr, mut epoch: watch::Receiver<u64>) {
    let _ = client.set_nodelay(true);
    let connected = tokio::select! {
        connected = TcpStream::connect(upstream) => connected,
        _ = epoch.changed() => return,
    };
    let Ok(mut server) = connected else {
        return;
    };
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = epoch.changed() => {}
    }
}
