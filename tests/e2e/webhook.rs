//! A webhook receiver for `notify`: it records each request's body and
//! answers from a script (status, `Retry-After`), then 200 `ok`.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer: a status and, for a 429, its `Retry-After` seconds.
pub type Answer = (u16, Option<u32>);

#[derive(Clone)]
pub struct Webhook {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Answer>>>,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Webhook {
    /// Serves on a free loopback port; `script` answers the first requests.
    pub fn start(script: &[Answer]) -> std::io::Result<Webhook> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let hook = Webhook {
            addr: listener.local_addr()?,
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            bodies: Arc::new(Mutex::new(Vec::new())),
        };
        let served = hook.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = served.answer(stream);
            }
        });
        Ok(hook)
    }

    /// The bodies received so far, in order.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }

    fn answer(&self, mut stream: TcpStream) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            request.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while request.len() < head_end + length {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = String::from_utf8_lossy(&request[head_end..]).into_owned();
        if let Ok(mut b) = self.bodies.lock() {
            b.push(body);
        }
        let (status, retry_after) = self
            .script
            .lock()
            .ok()
            .and_then(|mut s| s.pop_front())
            .unwrap_or((200, None));
        let extra = retry_after.map_or(String::new(), |s| format!("Retry-After: {s}\r\n"));
        write!(
            stream,
            "HTTP/1.1 {status} X\r\n{extra}Content-Length: 2\r\nConnection: close\r\n\r\nok"
        )
    }
}
