//! A local SMTP server that accepts every message and records when each one arrived, so the
//! outbox drain and the direct baseline are measured at the same place.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;
use mailin::{Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

#[derive(Clone)]
struct Recorder {
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Handler for Recorder {
    fn data_end(&mut self) -> Response {
        if let Ok(mut a) = self.arrivals.lock() {
            a.push(Instant::now());
        }
        response::OK
    }
}

impl SmtpSink {
    pub async fn start() -> Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sink = SmtpSink {
            addr: listener.local_addr()?,
            arrivals: Arc::default(),
        };
        let recorder = Recorder {
            arrivals: sink.arrivals.clone(),
        };
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let recorder = recorder.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, peer.ip(), recorder).await;
                });
            }
        });
        Ok(sink)
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// How many messages arrived so far.
    pub fn received(&self) -> usize {
        self.arrivals.lock().map(|a| a.len()).unwrap_or(0)
    }

    /// Arrival times of the messages after the first `skip`.
    pub fn arrivals_after(&self, skip: usize) -> Vec<Instant> {
        self.arrivals
            .lock()
            .map(|a| a.iter().skip(skip).copied().collect())
            .unwrap_or_default()
    }
}

async fn serve(stream: TcpStream, ip: IpAddr, recorder: Recorder) -> Result<()> {
    // Replies go out at once, as a production SMTP server's do; otherwise each reply waits
    // for the client's delayed ACK and both the drain and its baseline measure that wait.
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut session = SessionBuilder::new("bench-smtp").build(ip, recorder);
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            mailin::Action::NoReply => {}
            mailin::Action::Close => {
                write.write_all(&response.buffer()?).await?;
                return Ok(());
            }
            _ => write.write_all(&response.buffer()?).await?,
        }
    }
}
