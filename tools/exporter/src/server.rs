//! HTTP: `/metrics` and `/healthz` through tiny_http.
//!
//! tiny_http reads each connection's requests on a thread of its own; a
//! dispatcher hands every request to a thread of its own too (at most
//! [`MAX_IN_FLIGHT`], more get 503 at once), so a client that is slow to
//! send or to read holds only its own threads, never other scrapes nor the
//! drainer. Writes time out (see `listen::SEND_TIMEOUT`).

use std::io::Cursor;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{anyhow, Context, Result};
use cli::runloop::{Stop, StopHandle};
use prometheus_client::registry::Registry;
use tiny_http::{Header, Request, Response, Server};

use crate::drain::{request_drain, Request as DrainRequest};

/// Requests answered at the same time; beyond that, 503.
pub const MAX_IN_FLIGHT: usize = 64;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What request threads share.
pub struct Shared {
    pub registry: Registry,
    /// Programs attached: /healthz answers 200, /metrics serves.
    pub ready: Arc<AtomicBool>,
    /// Asks the drainer for fresh values.
    pub drains: Mutex<Sender<DrainRequest>>,
}

pub struct HttpServer {
    server: Arc<Server>,
    dispatcher: Option<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
}

impl HttpServer {
    /// Serves on `listener` from now on. If tiny_http stops accepting
    /// (its accept loop ends on an error), `stop` ends the exporter rather
    /// than leave it up but deaf.
    pub fn start(listener: TcpListener, shared: Arc<Shared>, stop: StopHandle) -> Result<Self> {
        let server = Server::from_listener(listener, None)
            .map_err(|e| anyhow!("starting the HTTP server: {e}"))?;
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let dispatcher = {
            let (server, stopping) = (Arc::clone(&server), Arc::clone(&stopping));
            std::thread::Builder::new()
                .name("http".into())
                .spawn(move || dispatch(&server, &shared, &stopping, &stop))
                .context("starting the HTTP dispatcher thread")?
        };
        Ok(Self {
            server,
            dispatcher: Some(dispatcher),
            stopping,
        })
    }

    /// Stops taking requests (answers under way finish on their own).
    pub fn shutdown(mut self) {
        self.stopping.store(true, Ordering::Release);
        self.server.unblock();
        if let Some(t) = self.dispatcher.take() {
            let _ = t.join();
        }
    }
}

fn dispatch(server: &Server, shared: &Arc<Shared>, stopping: &AtomicBool, stop: &StopHandle) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    loop {
        let request = match server.recv() {
            Ok(request) => request,
            Err(e) => {
                if !stopping.load(Ordering::Acquire) {
                    cli::output::status(&format!(
                        "contrace-exporter: the HTTP server stopped accepting connections: {e}"
                    ));
                    stop.stop(Stop::Requested);
                }
                return;
            }
        };
        if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            let _ = request.respond(text(503, "too many requests at once; retry\n"));
            continue;
        }
        let (shared, count) = (Arc::clone(shared), Arc::clone(&in_flight));
        let spawned = std::thread::Builder::new()
            .name("http-request".into())
            .spawn(move || {
                answer(request, &shared);
                count.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            // No thread to be had: the request was dropped (connection closed).
            in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn text(status: u16, body: &str) -> Response<Cursor<Vec<u8>>> {
    with_type(
        Response::from_string(body).with_status_code(status),
        "text/plain; charset=utf-8",
    )
}

/// Sets Content-Type (our own ASCII constants: they always make a header).
fn with_type(mut response: Response<Cursor<Vec<u8>>>, kind: &str) -> Response<Cursor<Vec<u8>>> {
    if let Ok(header) = Header::from_bytes(&b"Content-Type"[..], kind.as_bytes()) {
        response.add_header(header);
    }
    response
}

/// OpenMetrics when the scraper lists it (Prometheus does), else the
/// classic text format (curl, older scrapers).
fn wants_openmetrics(request: &Request) -> bool {
    request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Accept"))
        .any(|h| h.value.as_str().contains("application/openmetrics-text"))
}

fn answer(request: Request, shared: &Shared) {
    let path = request.url().split('?').next().unwrap_or("/").to_string();
    let ready = shared.ready.load(Ordering::Acquire);
    let response = match (request.method(), path.as_str()) {
        (tiny_http::Method::Get | tiny_http::Method::Head, "/metrics") if ready => {
            // Fresh values: the drainer empties the kernel maps first.
            request_drain(&shared.drains);
            match encode(&shared.registry, wants_openmetrics(&request)) {
                Ok((body, kind)) => with_type(Response::from_data(body.into_bytes()), kind),
                Err(_) => text(500, "encoding the metrics failed\n"),
            }
        }
        (tiny_http::Method::Get | tiny_http::Method::Head, "/metrics" | "/healthz") if !ready => {
            text(503, "not ready: the BPF programs are not attached\n")
        }
        (tiny_http::Method::Get | tiny_http::Method::Head, "/healthz") => text(200, "ok\n"),
        (tiny_http::Method::Get | tiny_http::Method::Head, "/") => text(
            200,
            "contrace-exporter: metrics at /metrics, health at /healthz\n",
        ),
        (tiny_http::Method::Get | tiny_http::Method::Head, _) => text(404, "not found\n"),
        _ => text(405, "only GET and HEAD\n"),
    };
    // A client that went away or stopped reading: nothing to do.
    let _ = request.respond(response);
}

fn encode(
    registry: &Registry,
    openmetrics: bool,
) -> Result<(String, &'static str), std::fmt::Error> {
    let mut body = String::new();
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut body, registry)?;
        Ok((body, OPENMETRICS))
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut body, registry)?;
        Ok((body, PROMETHEUS_TEXT))
    }
}
