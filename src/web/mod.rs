//! The staff console (`[web]`): server-rendered pages over the store, served by the
//! daemon beside the mail loop and the control socket. Staff sign in with the agency's
//! OpenID Connect provider ([`oidc`], [`auth`]); a viewer reads, staff act. Every change
//! is a staff request submitted to the one staff service ([`crate::staff::Service`]),
//! as from the CLI and the control socket: once by its id, in the store's
//! transactions, recorded with the person from the token.
//!
//! Pages are minijinja templates with HTML escaping on: whatever a mail carried
//! (subjects, names, file names, text) is shown as text. No script at all; a strict
//! Content-Security-Policy says so to the browser.

mod act;
pub mod auth;
mod conversation;
mod held;
pub mod oidc;
pub mod pages;
mod registry;
pub mod words;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::{Config, WebConfig};
use crate::metrics::Telemetry;
use crate::staff::Service;

/// Sessions and sign-ins past their time are removed this often.
const PRUNE_EVERY: Duration = Duration::from_secs(300);
/// A sign-in not back from the provider within this is forgotten.
const SIGN_IN_SECONDS: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("[web] listen = \"{listen}\": cannot listen there (is the port taken?); choose another address: {source}")]
    Bind {
        listen: SocketAddr,
        source: std::io::Error,
    },
    #[error("[web] TLS: {0}")]
    Tls(#[from] crate::tls::TlsSetupError),
}

/// What the console serves from.
pub struct Console {
    pub shared: Arc<Service>,
    pub telemetry: Arc<Telemetry>,
    pub web: WebConfig,
    /// The provider's metadata and keys, read at the first sign-in.
    provider: Mutex<Option<oidc::Provider>>,
    templates: minijinja::Environment<'static>,
}

impl Console {
    /// The console of `shared`'s config; `bound` is where it listens (a port 0 in
    /// `listen` becomes the port taken, in the public URL too when it was left out).
    pub fn new(shared: Arc<Service>, telemetry: Arc<Telemetry>, bound: &Bound) -> Option<Console> {
        let mut web = shared.config.web.clone()?;
        if let Some(at) = bound.local_addr() {
            if web.listen.port() == 0 {
                let unbound = format!(":{}", 0);
                if web.public_url.ends_with(&unbound) {
                    web.public_url = format!(
                        "{}:{}",
                        web.public_url.trim_end_matches(&unbound),
                        at.port()
                    );
                }
                web.listen = at;
            }
        }
        Some(Console::with(shared, telemetry, web))
    }

    /// A console over `shared` as `web` says (benches render its pages directly).
    pub fn with(shared: Arc<Service>, telemetry: Arc<Telemetry>, web: WebConfig) -> Console {
        Console {
            shared,
            telemetry,
            web,
            provider: Mutex::new(None),
            templates: templates(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// A page: `name` rendered with `context`; a template error is logged and said.
    pub fn render(&self, name: &str, context: minijinja::Value) -> Response {
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(context))
        {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                warn!("console: the page {name} cannot be rendered: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page cannot be rendered; the daemon's log says why",
                )
                    .into_response()
            }
        }
    }

    /// The provider, read now if not yet (off the daemon's thread).
    async fn provider(self: &Arc<Self>) -> Result<oidc::Provider, oidc::OidcError> {
        if let Some(p) = self.provider.lock().expect("provider lock").clone() {
            return Ok(p);
        }
        let config = self.web.oidc.clone();
        let found = tokio::task::spawn_blocking(move || oidc::discover(&config))
            .await
            .unwrap_or_else(|e| {
                Err(oidc::OidcError::Unreachable {
                    url: String::new(),
                    why: e.to_string(),
                })
            })?;
        *self.provider.lock().expect("provider lock") = Some(found.clone());
        Ok(found)
    }

    fn keep_provider(&self, provider: oidc::Provider) {
        *self.provider.lock().expect("provider lock") = Some(provider);
    }
}

/// The pages, built in (each a file under `src/web/templates`).
fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("message.html", include_str!("templates/message.html")),
        ("queue.html", include_str!("templates/queue.html")),
        ("case.html", include_str!("templates/case.html")),
        ("preview.html", include_str!("templates/preview.html")),
        ("held_list.html", include_str!("templates/held_list.html")),
        ("held_mail.html", include_str!("templates/held_mail.html")),
        ("registry.html", include_str!("templates/registry.html")),
        ("daemon.html", include_str!("templates/daemon.html")),
    ] {
        env.add_template(name, source)
            .expect("the console's templates parse");
    }
    env
}

const CSS: &str = include_str!("templates/console.css");

/// The console's routes.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(pages::queue))
        .route("/login", get(auth::login))
        .route("/login/callback", get(auth::callback))
        .route("/logout", post(auth::logout))
        .route("/case/{token}", get(pages::case))
        .route("/case/{token}/preview", post(act::preview))
        .route("/case/{token}/act", post(act::act))
        .route("/case/{token}/certificate/{n}", get(pages::certificate))
        .route("/held", get(held::list))
        .route("/held/mail", get(held::show))
        .route("/held/decide", post(held::decide))
        .route("/registry", get(registry::registry))
        .route("/registry/import", post(act::import))
        .route("/registry/upload", post(act::upload))
        .route("/daemon", get(pages::daemon))
        .route("/static/console.css", get(css))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(30 * 1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            guard_headers,
        ))
        .with_state(console)
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// Headers on every answer: no script, no framing, no sniffing, no caching of pages
/// that carry personal data, no referrer leaving the console.
async fn guard_headers(
    State(console): State<Arc<Console>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let provider_origin = origin_of(&console.web.oidc.issuer);
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {provider_origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.entry(name).or_insert(v);
        }
    };
    set(h, header::CONTENT_SECURITY_POLICY, &csp);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null`
    // with every form, and changes are checked by their origin.
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::CACHE_CONTROL, "no-store");
    if console.web.secure() {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    response
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{host}")
}

/// The client's address: the peer, or the last address a trusted proxy added.
pub fn client_address(web: &WebConfig, peer: SocketAddr, headers: &HeaderMap) -> String {
    if web.trusted_proxies.contains(&peer.ip()) {
        if let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        {
            return forwarded.to_string();
        }
    }
    peer.ip().to_string()
}

/// The bound console, not yet serving.
pub struct Bound {
    listener: tokio::net::TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// Listens on `[web] listen` (and reads the TLS files when configured).
pub async fn bind(web: &WebConfig) -> Result<Bound, WebError> {
    let tls = match &web.tls {
        Some((chain, key)) => Some(Arc::new(crate::tls::server_config(chain, key)?)),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(web.listen)
        .await
        .map_err(|source| WebError::Bind {
            listen: web.listen,
            source,
        })?;
    Ok(Bound { listener, tls })
}

impl Bound {
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown`; removes expired sessions as it goes.
    pub async fn serve(self, console: Console, mut shutdown: watch::Receiver<bool>) {
        let console = Arc::new(console);
        info!(listen = %console.web.listen, url = %console.web.public_url, "staff console ready");
        let app = router(console.clone());
        let pruning = prune(console.clone(), shutdown.clone());
        let serving = async {
            match self.tls {
                None => {
                    let stop = async move {
                        let _ = shutdown.wait_for(|s| *s).await;
                    };
                    let served = axum::serve(
                        self.listener,
                        app.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .with_graceful_shutdown(stop)
                    .await;
                    if let Err(e) = served {
                        warn!("staff console: {e}");
                    }
                }
                Some(tls) => serve_tls(self.listener, tls, app, shutdown).await,
            }
        };
        tokio::join!(serving, pruning);
    }
}

/// HTTPS by the daemon: each connection's TLS handshake, then the same routes.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tower::Service;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!("staff console: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Ok(service) = make.call(peer).await;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
            else {
                return;
            };
            let hyper_service =
                hyper::service::service_fn(move |request| service.clone().call(request));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), hyper_service)
                .await;
        });
    }
}

async fn prune(console: Arc<Console>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (idle, absolute) = (
            console.web.idle.as_secs() as i64,
            console.web.absolute.as_secs() as i64,
        );
        match console.shared.store.prune_sessions(
            |s| auth::over(s, idle, absolute, now),
            |l| now - l.started > SIGN_IN_SECONDS,
        ) {
            Ok(0) => {}
            Ok(n) => info!(removed = n, "console: expired sessions removed"),
            Err(e) => warn!("console: expired sessions could not be removed: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The connecting address, as handlers take it.
pub type Peer = ConnectInfo<SocketAddr>;
