//! The registry in the console: the known certificates listed and searched, and an
//! import's preview or answer (the import itself is in `act`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};

use super::auth::Signed;
use super::pages::{frame, given, local, store_failed};
use super::{words, Console};
use crate::queue;

#[derive(Debug, Default, Deserialize)]
pub struct RegistryParams {
    q: Option<String>,
    page: Option<usize>,
}

#[derive(Serialize)]
struct RegistryLine {
    serial: String,
    issuer: String,
    subject: String,
    services: String,
    institution: String,
    status: &'static str,
    not_after: String,
}

/// The registry page, with an import's preview or answer when there is one.
pub fn registry_page(
    console: &Console,
    signed: &Signed,
    q: Option<String>,
    page: usize,
    import: Option<Value>,
) -> Response {
    let t = words::table(console.web.language);
    let registry = match console.shared.store.load_registry() {
        Ok(r) => r,
        Err(e) => return store_failed(&e),
    };
    let needle = given(q.clone()).map(|s| s.to_lowercase());
    let hex: Option<String> = needle.as_ref().map(|n| {
        n.chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect::<String>()
    });
    let matching: Vec<&crate::registry::KnownCertificate> = registry
        .entries()
        .iter()
        .filter(|k| {
            let Some(n) = &needle else { return true };
            let in_text = |s: &str| s.to_lowercase().contains(n.as_str());
            in_text(&k.issuer)
                || k.subject.as_deref().is_some_and(in_text)
                || k.institution.as_deref().is_some_and(in_text)
                || k.services.iter().any(|s| in_text(s))
                || hex.as_ref().is_some_and(|h| {
                    h.len() >= 4
                        && (k.serial.to_lowercase().contains(h.as_str())
                            || k.sha1
                                .as_deref()
                                .is_some_and(|s| s.to_lowercase().contains(h.as_str())))
                })
        })
        .collect();
    let pages = matching.len().div_ceil(queue::PAGE_LINES).max(1);
    let page = page.clamp(1, pages);
    let lines: Vec<RegistryLine> = matching
        .iter()
        .skip((page - 1) * queue::PAGE_LINES)
        .take(queue::PAGE_LINES)
        .map(|k| RegistryLine {
            serial: k.serial.clone(),
            issuer: k.issuer.clone(),
            subject: k.subject.clone().unwrap_or_default(),
            services: k.services.iter().cloned().collect::<Vec<_>>().join(", "),
            institution: k.institution.clone().unwrap_or_default(),
            status: k.status.words(console.web.language),
            not_after: k.not_after.map(|d| local(console, d)).unwrap_or_default(),
        })
        .collect();
    let link = |n: usize| {
        serde_urlencoded::to_string([("q", q.as_deref().unwrap_or("")), ("page", &n.to_string())])
            .map(|s| format!("/registry?{s}"))
            .unwrap_or_default()
    };
    console.render(
        "registry.html",
        context! {
            ..frame(console, signed, t["registry"]),
            ..context! {
                lines => lines,
                known => registry.len(),
                matched => matching.len(),
                q => q.clone().unwrap_or_default(),
                page => page,
                pages => pages,
                previous => (page > 1).then(|| link(page - 1)),
                next => (page < pages).then(|| link(page + 1)),
                import => import,
            }
        },
    )
}

/// `GET /registry`.
pub async fn registry(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(params): Query<RegistryParams>,
) -> Response {
    registry_page(&console, &signed, params.q, params.page.unwrap_or(1), None)
}
