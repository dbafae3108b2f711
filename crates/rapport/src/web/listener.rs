//! The server's listener: plain TCP with `TCP_NODELAY`, so small responses go out at once
//! instead of waiting for the peer's delayed ACK.
//!
//! There is deliberately no cap on connections here. A cap needs idle and header-read timeouts
//! to go with it (otherwise idle keep-alive connections hold every slot and new clients wait
//! forever: the benchmark's 1,000-connection refresh storm did exactly that), and
//! `axum::serve` offers neither. Put a reverse proxy in front for that (docs/operators-guide.md).

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

pub fn with_nodelay(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(set_nodelay)
}

fn set_nodelay(stream: &mut TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "could not set TCP_NODELAY");
    }
}
