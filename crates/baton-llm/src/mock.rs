//! A scripted OpenAI-compatible chat-completions server on 127.0.0.1, so the live backend (and anything built on
//! it, such as `baton math ask --backend live`) can be exercised with no model and no network.
//!
//! It speaks just enough HTTP/1.1 for one request per connection: it reads the request line, the headers and a
//! `Content-Length` body, records the request as a [`Seen`], and answers with the status and JSON body the
//! caller's `reply` function returns, then closes the connection.
//!
//! ```no_run
//! let (url, seen) = baton_llm::mock::serve(None, |_| (200, baton_llm::mock::completion("#### 4", Some((10, 2)))))
//!     .expect("bind a loopback port");
//! // point a `LiveConfig` at `url`; `seen` lists every request the server received.
//! # let _ = (url, seen);
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The request body as JSON (`null` if it was not JSON).
    pub body: serde_json::Value,
}

/// The log of requests a server has received, in arrival order.
pub type Log = Arc<Mutex<Vec<Seen>>>;

/// Starts a server on an ephemeral port of 127.0.0.1 and returns its base URL (`http://127.0.0.1:PORT/v1`) and
/// its request log. Each connection's request is logged, then answered with `reply(&request)` = (HTTP status,
/// JSON body). After `limit` connections (if given) the listener closes, so later calls are refused; without a
/// limit it serves until the process ends.
pub fn serve<F>(limit: Option<usize>, mut reply: F) -> std::io::Result<(String, Log)>
where
    F: FnMut(&Seen) -> (u16, String) + Send + 'static,
{
    serve_with_headers(limit, move |req| {
        let (status, body) = reply(req);
        (status, body, Vec::new())
    })
}

/// [`serve`] with extra response headers (e.g. `Retry-After`): `reply` returns (status, JSON body, headers).
/// The log's length is the number of requests served, so a test can prove that a run sent none.
pub fn serve_with_headers<F>(limit: Option<usize>, mut reply: F) -> std::io::Result<(String, Log)>
where
    F: FnMut(&Seen) -> (u16, String, Vec<(String, String)>) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    let seen: Log = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut served = 0;
        while limit.is_none_or(|l| served < l) {
            let Ok((stream, _)) = listener.accept() else { return };
            served += 1;
            let Some(request) = read_request(&stream) else { continue };
            let (status, body, headers) = reply(&request);
            if let Ok(mut log) = log.lock() {
                log.push(request);
            }
            let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
            let msg = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
                if status < 400 { "OK" } else { "Error" },
                body.len()
            );
            let mut stream = stream;
            let _ = stream.write_all(msg.as_bytes());
        }
    });
    Ok((url, seen))
}

/// Starts a server that answers its first `replies.len()` connections with `replies` in order, then closes.
pub fn scripted(replies: Vec<(u16, String)>) -> std::io::Result<(String, Log)> {
    let n = replies.len();
    let mut replies = replies.into_iter();
    serve(Some(n), move |_| replies.next().unwrap_or((500, "{}".to_string())))
}

/// A chat-completions response body with one assistant message, and a `usage` block if given
/// (prompt tokens, completion tokens).
pub fn completion(text: &str, usage: Option<(u64, u64)>) -> String {
    let mut v = serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]});
    if let Some((i, o)) = usage {
        v["usage"] = serde_json::json!({"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o});
    }
    v.to_string()
}

/// Reads one request (request line, headers, `Content-Length` body); `None` if the client sent garbage.
fn read_request(stream: &std::net::TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let (mut len, mut authorization) = (0usize, None);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((h, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => len = value.trim().parse().ok().filter(|&n: &usize| n <= 16 << 20)?,
            "authorization" => authorization = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut buf = vec![0; len];
    reader.read_exact(&mut buf).ok()?;
    let body = serde_json::from_slice(&buf).unwrap_or(serde_json::Value::Null);
    Some(Seen { path, authorization, body })
}
