//! The HTTP connections themselves, over raw TCP: a client that trickles its request head
//! (slowloris) is disconnected after `server.header_read_timeout_ms` while other clients are
//! served; on stop, a request in flight finishes, an idle keep-alive connection is closed and
//! new connections are refused.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

use crate::helpers::{Options, TestApp, canonical, spawn_app, spawn_app_with};

/// Generous bound on anything the server should do promptly (the configured times are far
/// shorter), so that the tests fail by a timeout, not by a flaky margin.
const BOUND: Duration = Duration::from_secs(5);

/// Reads until the peer closes the connection (or resets it); what it sent meanwhile.
async fn read_to_close(read: &mut OwnedReadHalf) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response head (through the blank line); the connection stays open.
async fn read_head(read: &mut OwnedReadHalf) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = read.read(&mut byte).await.expect("read");
        assert_eq!(n, 1, "closed mid-head: {}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// The value of `content-length` in a response head.
fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .expect("content-length")
}

async fn healthz_is_ok(app: &TestApp) {
    let resp = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_trickled_request_head_is_cut_off_while_other_clients_are_served() {
    let app = spawn_app_with(Options {
        header_read_timeout_ms: 300,
        ..Options::default()
    })
    .await;
    let stream = TcpStream::connect(app.addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .expect("write");
    // One byte of the head every 100 ms, so the connection is never idle, and the head never
    // ends: only a bound on reading the whole head ends it.
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b"a").await.is_err() {
                return std::future::pending::<()>().await;
            }
        }
    };
    let closed = async {
        tokio::select! {
            got = read_to_close(&mut read) => got,
            () = trickle => unreachable!("the trickle never ends"),
        }
    };
    // Meanwhile another connection is served.
    let (got, ()) = tokio::join!(tokio::time::timeout(BOUND, closed), healthz_is_ok(&app));
    let got = got.expect("the server kept a trickled request head open");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "the trickled request was answered: {text}"
    );
    healthz_is_ok(&app).await;
}

#[tokio::test]
async fn on_stop_a_request_in_flight_finishes_idle_connections_close_and_new_ones_are_refused() {
    let mut app = spawn_app().await;

    // An idle keep-alive connection, after one answered request.
    let (mut idle_read, mut idle_write) = TcpStream::connect(app.addr)
        .await
        .expect("connect")
        .into_split();
    idle_write
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let head = read_head(&mut idle_read).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut body = vec![0u8; content_length(&head)];
    idle_read.read_exact(&mut body).await.expect("body");

    // A webhook in flight: its head is read and the handler waits for the rest of the body
    // (the server's `100 Continue` says so) when the stop comes.
    let event = canonical(
        "evt_conn_1",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    );
    let mut request = format!(
        "POST /webhooks/sw HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nexpect: 100-continue\r\n",
        event.len()
    );
    for (k, v) in app.sign("sw", &event, "msg_conn_1") {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let (mut busy_read, mut busy_write) = TcpStream::connect(app.addr)
        .await
        .expect("connect")
        .into_split();
    busy_write
        .write_all(request.as_bytes())
        .await
        .expect("write");
    let (first, rest) = event.split_at(event.len() / 2);
    busy_write.write_all(first.as_bytes()).await.expect("write");
    let head = tokio::time::timeout(BOUND, read_head(&mut busy_read))
        .await
        .expect("100 Continue");
    assert!(head.starts_with("HTTP/1.1 100"), "{head}");

    app.signal_stop();
    let got = tokio::time::timeout(BOUND, read_to_close(&mut idle_read))
        .await
        .expect("the idle keep-alive connection is closed on stop");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(
        TcpStream::connect(app.addr).await.is_err(),
        "a new connection is refused once stopping"
    );

    busy_write.write_all(rest.as_bytes()).await.expect("write");
    let answer = tokio::time::timeout(BOUND, read_to_close(&mut busy_read))
        .await
        .expect("the request in flight is answered, then its connection closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 202"), "{text}");
}
