//! A small HTTP/1.1 server with a thread per connection, for the stand-in.
//!
//! It replaces tiny_http 0.12, whose connection pool (`util::TaskPool`)
//! starves connections under a burst: `spawn` queues a new connection's task
//! whenever its count of idle threads is non-zero, but that count still
//! includes threads already woken for earlier connections and not yet
//! running. A burst of connections (autocannon opening 100 at once, on a
//! busy machine) therefore leaves a few connection tasks queued behind
//! keep-alive connections that never end during the run: those connections
//! are never read and their requests time out. Here every accepted
//! connection gets its own thread at once, and an idle connection is closed
//! after `IDLE`, so nothing waits for another connection to end.
//!
//! It speaks what the stand-in's clients send: a request line, headers, a
//! body by `Content-Length` or `Transfer-Encoding: chunked` (with
//! `Expect: 100-continue`), keep-alive by default on HTTP/1.1, and answers
//! with a `Content-Length` (no body for HEAD).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// How long a connection may sit idle (or stall mid-request) before it is closed.
const IDLE: Duration = Duration::from_secs(30);
/// Limits on what a request may send.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct Request {
    pub method: String,
    /// The request target as sent: path and query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.add_header(name, value);
        self
    }

    pub fn add_header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_owned(), value.to_owned()));
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Serves `listener` until the process ends, calling `handler` for every
/// request on a thread of the request's connection.
pub fn serve<H>(listener: TcpListener, handler: H)
where
    H: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || {
                let _ = connection(stream, &*handler);
            });
        }
    });
}

/// Why a request could not be read: the connection ends, after an error
/// answer when there is one to give.
enum ReadError {
    Closed,
    Bad(u16, &'static str),
}

impl From<std::io::Error> for ReadError {
    fn from(_: std::io::Error) -> ReadError {
        ReadError::Closed
    }
}

fn connection(stream: TcpStream, handler: &dyn Fn(&Request) -> Response) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_write_timeout(Some(IDLE))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let (request, keep_alive) = match read_request(&mut reader, &mut writer) {
            Ok(r) => r,
            Err(ReadError::Closed) => return Ok(()),
            Err(ReadError::Bad(status, message)) => {
                let response = Response::new(status, message)
                    .with_header("content-type", "text/plain; charset=utf-8");
                return write_response(&mut writer, &response, false, false);
            }
        };
        let response = handler(&request);
        write_response(&mut writer, &response, request.method == "HEAD", keep_alive)?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Reads one line of the head (CRLF or LF), counting it against the limit.
fn read_line(reader: &mut BufReader<TcpStream>, used: &mut usize) -> Result<String, ReadError> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take((MAX_HEAD - *used) as u64 + 1)
        .read_until(b'\n', &mut line)?;
    *used += n;
    if n == 0 {
        return Err(ReadError::Closed);
    }
    if *used > MAX_HEAD || !line.ends_with(b"\n") {
        return Err(ReadError::Bad(431, "request head too large"));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| ReadError::Bad(400, "request head is not UTF-8"))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Result<(Request, bool), ReadError> {
    let mut used = 0;
    // Empty lines before a request line are allowed (RFC 9112 2.2).
    let mut line = String::new();
    while line.is_empty() {
        line = read_line(reader, &mut used)?;
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(url), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "bad request line"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || url.is_empty() {
        return Err(ReadError::Bad(400, "bad request line"));
    }
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut used)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "bad header line"));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body: Vec::new(),
    };
    let connection = request
        .header("connection")
        .unwrap_or("")
        .to_ascii_lowercase();
    let keep_alive = if version == "HTTP/1.0" {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let length = match request.header("content-length") {
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ReadError::Bad(400, "bad content-length"))?,
        ),
        None => None,
    };
    if length.is_some_and(|l| l > MAX_BODY) {
        return Err(ReadError::Bad(413, "request body too large"));
    }
    let has_body = chunked || length.is_some_and(|l| l > 0);
    if has_body
        && request
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    if chunked {
        request.body = read_chunked(reader, &mut used)?;
    } else if let Some(length) = length {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok((request, keep_alive))
}

fn read_chunked(reader: &mut BufReader<TcpStream>, used: &mut usize) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, used)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| ReadError::Bad(400, "bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader, used)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(ReadError::Bad(413, "request body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        if !read_line(reader, used)?.is_empty() {
            return Err(ReadError::Bad(400, "bad chunk end"));
        }
    }
}

fn write_response(
    writer: &mut TcpStream,
    response: &Response,
    head_only: bool,
    keep_alive: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nServer: vercel-standin\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        // The framing is this server's to set; a line break would split the header.
        if ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
            || [name, value].iter().any(|s| s.contains(['\r', '\n']))
        {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    if !keep_alive {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&response.body);
    }
    writer.write_all(&bytes)?;
    writer.flush()
}
