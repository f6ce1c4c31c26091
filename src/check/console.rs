//! `[web]`: the console's provider answers with its metadata and keys, names the
//! configured issuer, and the client secret can be read; the redirect URI to register
//! is said.

use super::{Level, Report};
use crate::config::Config;

pub(super) async fn console(config: &Config, report: &mut Report) {
    let part = "console";
    let Some(web) = &config.web else {
        return;
    };
    let oidc = web.oidc.clone();
    let found = tokio::task::spawn_blocking(move || crate::web::oidc::discover(&oidc)).await;
    match found {
        Ok(Ok(_)) => report.add(
            Level::Ok,
            part,
            format!(
                "the provider {} answers with its keys; register {}/login/callback as the redirect URI of client {}",
                web.oidc.issuer, web.public_url, web.oidc.client_id
            ),
        ),
        Ok(Err(e)) => report.add(Level::Failed, part, e.to_string()),
        Err(e) => report.add(Level::Failed, part, e.to_string()),
    }
    if let Some(source) = &web.oidc.client_secret {
        if let Err(e) = source.read("[web.oidc] client secret") {
            report.add(Level::Failed, part, e.to_string());
        }
    }
}
