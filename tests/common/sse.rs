//! A client of the service's server-sent events over a plain socket (as
//! `curl -N` reads them): the stream's status, then its events on a
//! channel, or the raw body for a test that reads it at its own pace.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver};

/// One server-sent event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sse {
    pub id: Option<u64>,
    pub event: String,
    pub data: String,
}

impl Sse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Opens the stream over a plain socket (as `curl -N` would): the status
/// line, and then its events as they come, on a channel.
pub fn listen(
    base: &str,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (u16, Receiver<Sse>) {
    let (socket, status) = open(base, path, token, headers);
    let (send, events) = mpsc::channel();
    std::thread::spawn(move || {
        let mut body = Dechunked::new(socket);
        let mut current = Sse::default();
        let mut line = String::new();
        loop {
            line.clear();
            if body.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                let complete = !current.event.is_empty() || !current.data.is_empty();
                if complete && send.send(std::mem::take(&mut current)).is_err() {
                    return;
                }
                continue;
            }
            match line.split_once(':') {
                Some(("id", v)) => current.id = v.trim().parse().ok(),
                Some(("event", v)) => current.event = v.trim().to_string(),
                Some(("data", v)) => current.data.push_str(v.strip_prefix(' ').unwrap_or(v)),
                _ => {} // a comment: the keep-alive
            }
        }
    });
    (status, events)
}

/// Sends the request and reads the head; the socket is left at the body.
pub fn open(
    base: &str,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (BufReader<TcpStream>, u16) {
    let address = base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    socket.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(socket);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
    }
    (reader, status)
}

/// A chunked HTTP body, read as the bytes it carries.
pub struct Dechunked {
    socket: BufReader<TcpStream>,
    left: usize,
    buffer: std::collections::VecDeque<u8>,
}

impl Dechunked {
    pub fn new(socket: BufReader<TcpStream>) -> Self {
        Dechunked {
            socket,
            left: 0,
            buffer: Default::default(),
        }
    }

    pub fn read_line(&mut self, line: &mut String) -> std::io::Result<usize> {
        let mut bytes = Vec::new();
        loop {
            while let Some(b) = self.buffer.pop_front() {
                bytes.push(b);
                if b == b'\n' {
                    line.push_str(&String::from_utf8_lossy(&bytes));
                    return Ok(bytes.len());
                }
            }
            if self.left == 0 {
                let mut size = String::new();
                if self.socket.read_line(&mut size)? == 0 {
                    return Ok(0);
                }
                if size.trim().is_empty() {
                    continue; // the CRLF after a chunk
                }
                self.left = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                if self.left == 0 {
                    return Ok(0); // the last chunk
                }
            }
            let mut chunk = vec![0; self.left.min(64 * 1024)];
            let n = self.socket.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            self.left -= n;
            self.buffer.extend(&chunk[..n]);
        }
    }
}
