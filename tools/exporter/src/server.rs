//! HTTP(S): `/metrics` and `/healthz` through hyper's HTTP/1.1 server,
//! on a tokio runtime of its own thread; HTTPS through rustls when the web
//! configuration has `tls_server_config`; basic authentication when it has
//! `basic_auth_users` (everything but `/healthz`, which kubelet probes
//! reach without credentials; it tells only whether the programs are
//! attached).
//!
//! Slow clients hold only their own connection: each connection is a task
//! (at most [`MAX_CONNECTIONS`]; more are closed at once), a TLS handshake
//! must end within [`HANDSHAKE_TIMEOUT`], request headers within
//! [`HEADER_TIMEOUT`], and a write that makes no progress for
//! [`WRITE_STALL`] ends its connection. Draining, encoding and bcrypt run on
//! tokio's blocking threads, at most [`MAX_IN_FLIGHT`] requests at once
//! (more get 503), so the drainer never waits on HTTP.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::TcpListener as StdListener;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use cli::runloop::{Stop, StopHandle};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;

use crate::auth::BasicAuth;
use crate::drain::{request_drain, Request as DrainRequest};

/// Requests answered at the same time; beyond that, 503.
pub const MAX_IN_FLIGHT: usize = 64;
/// Open connections; more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 1024;
/// A TLS handshake must be over by then.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's headers must have arrived by then.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A response write that makes no progress for this long ends its connection.
pub const WRITE_STALL: Duration = Duration::from_secs(10);
/// How long answers under way may take to finish once the exporter stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What request tasks share.
pub struct Shared {
    pub registry: Registry,
    /// Programs attached: /healthz answers 200, /metrics serves.
    pub ready: Arc<AtomicBool>,
    /// Asks the drainer for fresh values.
    pub drains: Mutex<Sender<DrainRequest>>,
    /// `basic_auth_users`; `None`: no authentication.
    pub auth: Option<BasicAuth>,
    /// Extra response headers of the web configuration.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    in_flight: AtomicUsize,
}

impl Shared {
    pub fn new(
        registry: Registry,
        ready: Arc<AtomicBool>,
        drains: Sender<DrainRequest>,
        auth: Option<BasicAuth>,
        headers: Vec<(HeaderName, HeaderValue)>,
    ) -> Self {
        Self {
            registry,
            ready,
            drains: Mutex::new(drains),
            auth,
            headers,
            in_flight: AtomicUsize::new(0),
        }
    }
}

pub struct HttpServer {
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl HttpServer {
    /// Serves on `listener` from now on (HTTPS with `tls`). If accepting
    /// fails for good, `stop` ends the exporter rather than leave it up but
    /// deaf, and [`shutdown`](Self::shutdown) returns the error.
    pub fn start(
        listener: StdListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        shared: Arc<Shared>,
        stop: StopHandle,
    ) -> Result<Self> {
        listener
            .set_nonblocking(true)
            .context("making the listening socket non-blocking")?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                let result = serve(listener, tls.map(TlsAcceptor::from), shared, shutdown_rx);
                if result.is_err() {
                    stop.stop(Stop::Requested);
                }
                result
            })
            .context("starting the HTTP server thread")?;
        Ok(Self {
            shutdown,
            thread: Some(thread),
        })
    }

    /// Stops taking connections; answers under way get [`SHUTDOWN_GRACE`].
    pub fn shutdown(mut self) -> Result<()> {
        let _ = self.shutdown.send(true);
        match self.thread.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(anyhow!("the HTTP server thread panicked")),
        }
    }
}

/// The server thread: a single-threaded runtime for the connections.
fn serve(
    listener: StdListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the HTTP runtime")?;
    let result = rt.block_on(async move {
        let listener = TcpListener::from_std(listener).context("serving the listening socket")?;
        accept(listener, tls, shared, shutdown).await
    });
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    result
}

/// Accept errors that pass (a connection reset before accept, a moment
/// without file descriptors or memory): wait a little and go on.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::ECONNRESET
                | libc::EPROTO
                | libc::EINTR
                | libc::EMFILE
                | libc::ENFILE
                | libc::ENOBUFS
                | libc::ENOMEM
                | libc::EPERM
        )
    )
}

async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (closing, closing_rx) = watch::channel(false);
    let result = loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break Ok(()),
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if transient(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => {
                break Err(anyhow!(
                    "the HTTP server stopped accepting connections: {e}"
                ))
            }
        };
        // Over the limit: the connection is closed (dropped) at once.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let (tls, shared, closing) = (tls.clone(), Arc::clone(&shared), closing_rx.clone());
        tokio::spawn(async move {
            connection(stream, tls, shared, closing).await;
            drop(slot);
        });
    };
    // Answers under way finish (keep-alive connections close after them).
    let _ = closing.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(MAX_CONNECTIONS as u32)).await;
    result
}

async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => http(Stalled::new(stream), shared, closing).await,
        Some(acceptor) => {
            // A plain-HTTP client, a missing or untrusted client
            // certificate, or a silent peer: the connection just ends.
            if let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                http(Stalled::new(stream), shared, closing).await;
            }
        }
    }
}

async fn http<IO>(io: IO, shared: Arc<Shared>, mut closing: watch::Receiver<bool>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(answer(request, shared).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = closing.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

type Answer = Response<Full<Bytes>>;

fn text(status: StatusCode, body: &'static str) -> Answer {
    with_type(
        Response::new(Full::new(Bytes::from_static(body.as_bytes()))),
        status,
        "text/plain; charset=utf-8",
    )
}

fn with_type(mut response: Answer, status: StatusCode, kind: &'static str) -> Answer {
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    response
}

/// One request, with the web configuration's headers added.
async fn answer(request: Request<Incoming>, shared: Arc<Shared>) -> Answer {
    let mut response = route(request, &shared).await;
    for (name, value) in &shared.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

async fn route(request: Request<Incoming>, shared: &Arc<Shared>) -> Answer {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    let ready = shared.ready.load(Ordering::Acquire);
    let path = request.uri().path();
    if path == "/healthz" {
        return health(ready);
    }
    let Some(slot) = InFlight::take(shared) else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many requests at once; retry\n",
        );
    };
    if !authorized(&request, shared).await {
        let mut refused = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
        refused.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"contrace-exporter\""),
        );
        return refused;
    }
    match path {
        "/metrics" if ready => metrics(&request, Arc::clone(shared), slot).await,
        "/metrics" => health(false),
        "/" => text(
            StatusCode::OK,
            "contrace-exporter: metrics at /metrics, health at /healthz\n",
        ),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn health(ready: bool) -> Answer {
    if ready {
        text(StatusCode::OK, "ok\n")
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the BPF programs are not attached\n",
        )
    }
}

/// Basic authentication when configured (bcrypt on a blocking thread).
async fn authorized(request: &Request<Incoming>, shared: &Arc<Shared>) -> bool {
    if shared.auth.is_none() {
        return true;
    }
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        shared
            .auth
            .as_ref()
            .is_some_and(|auth| auth.check(header.as_deref()))
    })
    .await
    .unwrap_or(false)
}

/// Fresh values (the drainer empties the kernel maps first), encoded as
/// OpenMetrics when the scraper lists it (Prometheus does), else the
/// classic text format (curl, older scrapers).
async fn metrics(request: &Request<Incoming>, shared: Arc<Shared>, slot: InFlight) -> Answer {
    let openmetrics = request.headers().get_all(ACCEPT).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.contains("application/openmetrics-text"))
    });
    let encoded = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        request_drain(&shared.drains);
        encode(&shared.registry, openmetrics)
    })
    .await;
    match encoded {
        Ok(Ok((body, kind))) => with_type(
            Response::new(Full::new(Bytes::from(body))),
            StatusCode::OK,
            kind,
        ),
        _ => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding the metrics failed\n",
        ),
    }
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

/// One of the [`MAX_IN_FLIGHT`] request slots, given back on drop.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn take(shared: &Arc<Shared>) -> Option<Self> {
        if shared.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Self(Arc::clone(shared)))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream whose writes fail once they made no progress for
/// [`WRITE_STALL`]: a client that stops reading loses its connection
/// instead of holding its response forever.
struct Stalled<T> {
    inner: T,
    stalled_since: Option<Pin<Box<Sleep>>>,
}

impl<T> Stalled<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            stalled_since: None,
        }
    }

    /// A write-side poll's outcome, timed: progress resets the clock.
    fn timed<R>(
        &mut self,
        cx: &mut TaskContext<'_>,
        poll: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.stalled_since = None;
            return poll;
        }
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_STALL)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stalled<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stalled<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.timed(cx, poll)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.timed(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.timed(cx, poll)
    }
}
