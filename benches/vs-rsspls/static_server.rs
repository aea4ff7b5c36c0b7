//! Benchmark support, not part of octofeed: a tiny static file server (std only) so
//! the benchmark measures the feed tools rather than `python3 -m http.server`, which
//! spends milliseconds per request. HTTP/1.1 with keep-alive, one thread per
//! connection, `ETag` and `Last-Modified` with `304` answers, GET and HEAD only.
//!
//! build: cargo build --release --example static_server   (std only; clippy checks it with the crate)
//! usage: target/release/examples/static_server DIR PORT     (listens on 127.0.0.1 only)

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;
use std::{env, fs, thread};

fn main() {
    let args: Vec<String> = env::args().collect();
    let (Some(dir), Some(port)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: static_server DIR PORT");
        std::process::exit(2);
    };
    let listener = TcpListener::bind(("127.0.0.1", port.parse::<u16>().expect("a port number"))).expect("bind");
    let root = PathBuf::from(dir);
    for stream in listener.incoming().flatten() {
        let root = root.clone();
        thread::spawn(move || serve(stream, &root));
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(stream: TcpStream, root: &Path) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let mut parts = request_line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let reply = answer(root, method, target, header("if-none-match"), header("if-modified-since"));
        if writer.write_all(&reply).is_err() || header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return;
        }
    }
}

fn answer(root: &Path, method: &str, target: &str, if_none_match: Option<&str>, if_modified: Option<&str>) -> Vec<u8> {
    let path = target.split(['?', '#']).next().unwrap_or("/").trim_start_matches('/');
    if path.split('/').any(|part| part == "..") || !matches!(method, "GET" | "HEAD") {
        return head(400, "Bad Request", 0, "");
    }
    let file = root.join(path);
    let (Ok(meta), Ok(body)) = (fs::metadata(&file), fs::read(&file)) else {
        return head(404, "Not Found", 0, "");
    };
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
    let etag = format!("\"{:x}-{:x}\"", meta.len(), mtime);
    let last_modified = http_date(mtime);
    let validators = format!("ETag: {etag}\r\nLast-Modified: {last_modified}\r\n");
    if if_none_match == Some(etag.as_str()) || (if_none_match.is_none() && if_modified == Some(&*last_modified)) {
        return head(304, "Not Modified", 0, &validators);
    }
    let extra = format!("{validators}Content-Type: text/html; charset=utf-8\r\n");
    let mut reply = head(200, "OK", body.len(), &extra);
    if method == "GET" {
        reply.extend_from_slice(&body);
    }
    reply
}

fn head(code: u16, reason: &str, length: usize, extra: &str) -> Vec<u8> {
    format!("HTTP/1.1 {code} {reason}\r\nContent-Length: {length}\r\n{extra}\r\n").into_bytes()
}

/// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") from Unix seconds.
fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = DAYS[(days % 7) as usize];
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!("{weekday}, {day:02} {} {year} {h:02}:{m:02}:{s:02} GMT", MONTHS[(month - 1) as usize])
}
