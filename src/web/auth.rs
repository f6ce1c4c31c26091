//! Signing staff in and out, and who is asking. A browser without a live session is
//! sent to `/login`, which sends it to the provider with a fresh state, nonce and PKCE
//! verifier kept in the store (and the state in a cookie, so that the callback is this
//! browser's); the callback redeems the code, checks the ID token and the role, and
//! opens a session: a random cookie (HttpOnly, SameSite=Lax, Secure over HTTPS), found
//! by its hash, ended when unused for `[web] idle_minutes` or `absolute_hours` after
//! sign-in. Every change also carries the session's form token and comes from the
//! console's own origin ([`Signed::refuses_change`]).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tracing::{info, warn};

use super::{client_address, oidc, Console, Peer};
use crate::store::{PendingSignIn, WebSession};

pub const SESSION_COOKIE: &str = "mnotify_session";
const SIGN_IN_COOKIE: &str = "mnotify_sign_in";
/// `last_seen` is written again once it is this old (not at every page).
const TOUCH_SECONDS: i64 = 30;

/// The role a session holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Staff,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Staff => "staff",
        }
    }
}

/// Whether a session is over: unused past `idle`, or older than `absolute` (seconds).
pub fn over(s: &WebSession, idle: i64, absolute: i64, now: i64) -> bool {
    now - s.last_seen > idle || now - s.signed_in > absolute
}

/// Staff signed in, as a handler takes them.
pub struct Signed {
    pub session: WebSession,
}

impl Signed {
    pub fn role(&self) -> Role {
        if self.session.role == "staff" {
            Role::Staff
        } else {
            Role::Viewer
        }
    }

    /// How the timeline records them: the person from the token, with the role.
    pub fn recorded_as(&self) -> String {
        let s = &self.session;
        format!(
            "{} <{}> ({}, console; {} sub {})",
            s.name, s.email, s.role, s.issuer, s.subject
        )
    }

    /// Why a change may not go ahead, as the answer to give: it needs staff's role,
    /// the session's form token, and the console's own origin. `None`: it may.
    pub fn refuses_change(
        &self,
        console: &Console,
        headers: &HeaderMap,
        csrf: Option<&str>,
    ) -> Option<Response> {
        let ours = super::origin_of(&console.web.public_url);
        let from = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let origin_ok = match (from(header::ORIGIN), from(header::REFERER)) {
            (Some(origin), _) => origin == ours,
            (None, Some(referer)) => super::origin_of(&referer) == ours,
            (None, None) => true,
        };
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v == "cross-site");
        let token_ok = csrf.is_some_and(|t| same(t, &self.session.csrf));
        if !origin_ok || cross_site || !token_ok {
            warn!(by = %self.recorded_as(), "console: a change without this session's form token or from another origin was refused");
            return Some(refusal(console, StatusCode::FORBIDDEN, "forbidden"));
        }
        if self.role() != Role::Staff {
            return Some(refusal(console, StatusCode::FORBIDDEN, "viewer_note"));
        }
        None
    }
}

/// Constant-time comparison of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A short page saying one thing, in the staff language.
pub fn refusal(console: &Console, status: StatusCode, key: &str) -> Response {
    let words = super::words::table(console.web.language);
    let text = words.get(key).copied().unwrap_or(key);
    let page = console.render(
        "message.html",
        minijinja::context! { t => words, lang => console.web.language.code(), text => text, login => false },
    );
    (status, page).into_response()
}

pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(console: &Console, name: &str, value: &str, max_age: i64) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if console.web.secure() { "; Secure" } else { "" }
    )
}

impl FromRequestParts<Arc<Console>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Signed, Response> {
        let back = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let to_login = |expired: bool| {
            let query = serde_urlencoded::to_string([
                ("next", back.as_str()),
                ("expired", if expired { "1" } else { "" }),
            ])
            .unwrap_or_default();
            Redirect::to(&format!("/login?{query}")).into_response()
        };
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(to_login(false));
        };
        let store = &console.shared.store;
        let Ok(Some(mut session)) = store.session(&id) else {
            return Err(to_login(true));
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let idle = console.web.idle.as_secs() as i64;
        let absolute = console.web.absolute.as_secs() as i64;
        if over(&session, idle, absolute, now) {
            let _ = store.end_session(&id);
            return Err(to_login(true));
        }
        if now - session.last_seen >= TOUCH_SECONDS {
            session.last_seen = now;
            let _ = store.save_session(&id, &session);
        }
        Ok(Signed { session })
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    go: Option<String>,
}

/// A page of ours to go back to after signing in, rebuilt from `next` rather than
/// passed through: one of the console's own pages, its segments and query encoded
/// again, so that nothing a browser would read as another site (`//evil`, `/\t/evil`
/// once the tab is dropped, `https://…`) or as a broken header survives; anything else
/// is the queue.
fn our_path(next: Option<&str>) -> String {
    next.and_then(our_page).unwrap_or_else(|| "/".into())
}

fn our_page(next: &str) -> Option<String> {
    if next.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (path, query) = next.split_once('?').unwrap_or((next, ""));
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let page = match segments.as_slice() {
        [""] => "/".to_string(),
        [page @ ("held" | "registry" | "daemon")] => format!("/{page}"),
        ["held", "mail"] => "/held/mail".to_string(),
        ["case", token] if plain(token) => format!("/case/{token}"),
        ["case", token, "certificate", n] if plain(token) && plain(n) => {
            format!("/case/{token}/certificate/{n}")
        }
        _ => return None,
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    if pairs
        .iter()
        .any(|(k, v)| k.chars().chain(v.chars()).any(char::is_control))
    {
        return None;
    }
    let query = serde_urlencoded::to_string(&pairs).ok()?;
    Some(if query.is_empty() {
        page
    } else {
        format!("{page}?{query}")
    })
}

/// A path segment of letters and digits only (a case token, a certificate's number).
fn plain(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `/login`: a page with the sign-in button (`?go=1` sends the browser on).
pub async fn login(State(console): State<Arc<Console>>, Query(q): Query<LoginQuery>) -> Response {
    let words = super::words::table(console.web.language);
    if q.go.is_none() {
        let next = our_path(q.next.as_deref());
        let go = format!(
            "/login?{}",
            serde_urlencoded::to_string([("go", "1"), ("next", next.as_str())]).unwrap_or_default()
        );
        return console.render(
            "message.html",
            minijinja::context! {
                t => words, lang => console.web.language.code(), login => true, go => go,
                text => if q.expired.as_deref() == Some("1") { words["expired"] } else { "" },
            },
        );
    }
    let provider = match console.provider().await {
        Ok(p) => p,
        Err(e) => {
            warn!("console: sign-in impossible: {e}");
            return refusal(&console, StatusCode::SERVICE_UNAVAILABLE, "provider_down");
        }
    };
    let randoms = (oidc::random(), oidc::random(), oidc::random());
    let (Ok(state), Ok(nonce), Ok(verifier)) = randoms else {
        warn!("console: sign-in refused: the system gives no randomness for its state and nonce; check that /dev/urandom is readable");
        return refusal(&console, StatusCode::SERVICE_UNAVAILABLE, "no_randomness");
    };
    let pending = PendingSignIn {
        nonce: nonce.clone(),
        verifier: verifier.clone(),
        return_to: our_path(q.next.as_deref()),
        started: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    if let Err(e) = console.shared.store.start_sign_in(&state, &pending) {
        warn!("console: {e}");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the store failed; see the log",
        )
            .into_response();
    }
    let url = provider.authorization_url(
        &console.web.oidc,
        &redirect_uri(&console),
        &state,
        &nonce,
        &verifier,
    );
    (
        [(
            header::SET_COOKIE,
            set_cookie(&console, SIGN_IN_COOKIE, &state, 600),
        )],
        Redirect::to(&url),
    )
        .into_response()
}

fn redirect_uri(console: &Console) -> String {
    format!("{}/login/callback", console.web.public_url)
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `/login/callback`: the provider sends the browser back with a code.
pub async fn callback(
    State(console): State<Arc<Console>>,
    peer: Peer,
    headers: HeaderMap,
    Query(back): Query<Callback>,
) -> Response {
    let from = client_address(&console.web, peer.0, &headers);
    if let Some(error) = &back.error {
        warn!(from = %from, "console: the provider refused a sign-in: {error} {}", back.error_description.as_deref().unwrap_or(""));
        return refusal(&console, StatusCode::FORBIDDEN, "no_role");
    }
    let (Some(code), Some(state)) = (back.code, back.state) else {
        return (StatusCode::BAD_REQUEST, "no code or state").into_response();
    };
    // The state must be this browser's, and is used once.
    if cookie(&headers, SIGN_IN_COOKIE) != Some(state.as_str()) {
        warn!(from = %from, "console: a sign-in came back to another browser than it started in");
        return refusal(&console, StatusCode::FORBIDDEN, "forbidden");
    }
    let Ok(Some(pending)) = console.shared.store.take_sign_in(&state) else {
        return refusal(&console, StatusCode::FORBIDDEN, "expired");
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let person = match redeem(&console, code, pending.clone(), now).await {
        Ok(p) => p,
        Err(refused) => {
            warn!(from = %from, "console: sign-in refused");
            return refused;
        }
    };
    let Some(role) = role_of(&console.web.oidc, &person.roles) else {
        warn!(from = %from, subject = %person.subject, email = %person.email, "console: a person without a console role signed in at the provider; refused");
        return refusal(&console, StatusCode::FORBIDDEN, "no_role");
    };
    let (id, session) = match open_session(&console, person, role, now) {
        Ok(opened) => opened,
        Err(e) => {
            warn!("console: no session opened: {e:#}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "no session could be opened; see the log",
            )
                .into_response();
        }
    };
    info!(from = %from, who = %Signed { session: session.clone() }.recorded_as(), "console: signed in");
    let max_age = console.web.absolute.as_secs() as i64;
    let mut response = Redirect::to(&pending.return_to).into_response();
    let headers = response.headers_mut();
    for c in [
        set_cookie(&console, SESSION_COOKIE, &id, max_age),
        set_cookie(&console, SIGN_IN_COOKIE, "", 0),
    ] {
        if let Ok(v) = c.parse() {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The code redeemed at the provider (off the daemon's thread) and its ID token
/// checked; the refusal to answer with otherwise.
async fn redeem(
    console: &Arc<Console>,
    code: String,
    pending: PendingSignIn,
    now: i64,
) -> Result<oidc::Person, Response> {
    let Ok(mut provider) = console.provider().await else {
        return Err(refusal(
            console,
            StatusCode::SERVICE_UNAVAILABLE,
            "provider_down",
        ));
    };
    let config = console.web.oidc.clone();
    let redirect = redirect_uri(console);
    let redeemed = tokio::task::spawn_blocking(move || {
        let person = provider.redeem(
            &config,
            &redirect,
            &code,
            &pending.verifier,
            &pending.nonce,
            now,
        );
        (provider, person)
    })
    .await;
    let Ok((provider, person)) = redeemed else {
        return Err(refusal(
            console,
            StatusCode::SERVICE_UNAVAILABLE,
            "provider_down",
        ));
    };
    console.keep_provider(provider);
    person.map_err(|e| {
        warn!("console: sign-in refused: {e}");
        refusal(console, StatusCode::FORBIDDEN, "forbidden")
    })
}

/// The role a token's role values give, if any (staff's wins).
fn role_of(oidc: &crate::config::OidcConfig, roles: &[String]) -> Option<Role> {
    if roles.iter().any(|r| oidc.staff_roles.contains(r)) {
        Some(Role::Staff)
    } else if roles.iter().any(|r| oidc.viewer_roles.contains(r)) {
        Some(Role::Viewer)
    } else {
        None
    }
}

/// A new session for `person`: its cookie's value and what the store keeps.
fn open_session(
    console: &Console,
    person: oidc::Person,
    role: Role,
    now: i64,
) -> anyhow::Result<(String, WebSession)> {
    let id = oidc::random()?;
    let session = WebSession {
        issuer: person.issuer,
        subject: person.subject,
        name: person.name,
        email: person.email,
        role: role.code().into(),
        csrf: oidc::random()?,
        id_token: person.id_token,
        signed_in: now,
        last_seen: now,
    };
    console.shared.store.save_session(&id, &session)?;
    Ok((id, session))
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    pub csrf: Option<String>,
}

/// `POST /logout`: the session ends here, then at the provider.
pub async fn logout(
    State(console): State<Arc<Console>>,
    signed: Signed,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Response {
    let token_ok = form
        .csrf
        .as_deref()
        .is_some_and(|t| same(t, &signed.session.csrf));
    if !token_ok {
        return refusal(&console, StatusCode::FORBIDDEN, "forbidden");
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        let _ = console.shared.store.end_session(id);
    }
    info!(who = %signed.recorded_as(), "console: signed out");
    let after = format!("{}/", console.web.public_url);
    let provider = console.provider.lock().expect("provider lock").clone();
    let to = provider
        .and_then(|p| p.logout_url(&signed.session.id_token, &after))
        .unwrap_or_else(|| "/login".into());
    (
        [(
            header::SET_COOKIE,
            set_cookie(&console, SESSION_COOKIE, "", 0),
        )],
        Redirect::to(&to),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_paths_are_gone_back_to() {
        for (next, page) in [
            ("/case/ABC?x=1", "/case/ABC?x=1"),
            ("/", "/"),
            ("/held?q=a+b", "/held?q=a+b"),
            ("/held/mail?id=%3Cm%40x%3E", "/held/mail?id=%3Cm%40x%3E"),
            ("/case/ABC/certificate/0", "/case/ABC/certificate/0"),
            ("/registry", "/registry"),
            ("/?q=%22%3E", "/?q=%22%3E"),
        ] {
            assert_eq!(our_path(Some(next)), page, "{next}");
        }
        for bad in [
            "//evil.test/",
            "https://evil.test/",
            "/\\evil.test",
            "evil",
            "/\t/evil.test",
            "/\n/evil.test",
            "/\r\n/evil.test",
            "/ /evil.test",
            "/%09/evil.test",
            "/case/A%2F%2Fevil",
            "/case/ABC/../../x",
            "/held?q=%0d%0aSet-Cookie:x",
            "/nowhere",
            "",
        ] {
            assert_eq!(our_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(our_path(None), "/");
    }

    #[test]
    fn a_session_ends_when_idle_or_old() {
        let s = WebSession {
            issuer: String::new(),
            subject: String::new(),
            name: String::new(),
            email: String::new(),
            role: "staff".into(),
            csrf: String::new(),
            id_token: String::new(),
            signed_in: 0,
            last_seen: 1_000,
        };
        assert!(!over(&s, 600, 36_000, 1_500));
        assert!(over(&s, 600, 36_000, 1_601));
        assert!(over(&s, 100_000, 1_200, 1_500));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
