//! The console's OpenID Connect client: the provider's metadata and keys, the
//! authorization request (code flow with PKCE, S256), the code redeemed at the token
//! endpoint, and the ID token checked (RS256 signature by the provider's published
//! key, issuer, audience, expiry, nonce) before anyone is signed in. Blocking HTTP
//! (ureq): the console calls it off the daemon's thread.

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use sha2::Digest;

use crate::config::OidcConfig;

/// A provider's answer is not read past this.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);
/// Clock difference allowed with the provider.
const LEEWAY_SECONDS: i64 = 120;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider {url} cannot be reached: {why}; check [web.oidc] issuer and ca_file, and the network to it")]
    Unreachable { url: String, why: String },
    #[error("the identity provider answered {url} with something unreadable: {why}")]
    Unreadable { url: String, why: String },
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    #[error("the ID token is not acceptable: {0}")]
    BadToken(String),
    /// Signed with a key the provider does not publish (yet, or any more): its keys
    /// are read again once before the token is refused.
    #[error("the ID token is not acceptable: no key {0} published")]
    UnknownKey(String),
    #[error("[web.oidc] client_secret: {0}")]
    Secret(String),
}

/// What the provider publishes of itself.
#[derive(Debug, Clone)]
pub struct Provider {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub end_session_endpoint: Option<String>,
    jwks_uri: String,
    keys: Vec<RsaKey>,
}

#[derive(Debug, Clone)]
struct RsaKey {
    kid: Option<String>,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// Who signed in, from a checked ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub issuer: String,
    pub subject: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub id_token: String,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64url(text: &str) -> Result<Vec<u8>, OidcError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| OidcError::BadToken(format!("not base64url: {e}")))
}

/// A random value for a state, nonce, verifier or cookie (256 bits); without the
/// system's randomness there is none, and the sign-in or session is refused.
pub fn random() -> Result<String, crate::record::NoRandomness> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| crate::record::NoRandomness(e.to_string()))?;
    Ok(b64url(&bytes))
}

/// PKCE's S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    b64url(&sha2::Sha256::digest(verifier.as_bytes()))
}

fn agent(config: &OidcConfig) -> Result<ureq::Agent, OidcError> {
    crate::tls::https_agent(config.ca_file.as_deref(), TIMEOUT).map_err(|why| {
        OidcError::Unreachable {
            url: config.issuer.clone(),
            why: format!("[web.oidc] ca_file: {why}"),
        }
    })
}

fn read_json(
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    url: &str,
) -> Result<(u16, serde_json::Value), OidcError> {
    let mut answer = answer.map_err(|e| OidcError::Unreachable {
        url: url.into(),
        why: e.to_string(),
    })?;
    let status = answer.status().as_u16();
    let body = answer
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| OidcError::Unreachable {
            url: url.into(),
            why: e.to_string(),
        })?;
    let json = serde_json::from_str(&body).map_err(|e| OidcError::Unreadable {
        url: url.into(),
        why: format!("HTTP {status}: {e}"),
    })?;
    Ok((status, json))
}

fn text(json: &serde_json::Value, key: &str, url: &str) -> Result<String, OidcError> {
    json[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| OidcError::Unreadable {
            url: url.into(),
            why: format!("no {key}"),
        })
}

/// Reads the provider's metadata and keys. The issuer it names must be the one
/// configured (OpenID Connect Discovery, section 4.3).
pub fn discover(config: &OidcConfig) -> Result<Provider, OidcError> {
    let agent = agent(config)?;
    let url = format!("{}/.well-known/openid-configuration", config.issuer);
    let (status, meta) = read_json(agent.get(&url).call(), &url)?;
    if status != 200 {
        return Err(OidcError::Unreadable {
            url,
            why: format!("HTTP {status}"),
        });
    }
    let issuer = text(&meta, "issuer", &url)?;
    if issuer.trim_end_matches('/') != config.issuer {
        return Err(OidcError::Unreadable {
            url,
            why: format!(
                "it names the issuer {issuer:?}, not the configured {:?}; write that in [web.oidc] issuer",
                config.issuer
            ),
        });
    }
    let mut provider = Provider {
        issuer,
        authorization_endpoint: text(&meta, "authorization_endpoint", &url)?,
        token_endpoint: text(&meta, "token_endpoint", &url)?,
        end_session_endpoint: meta["end_session_endpoint"].as_str().map(str::to_string),
        jwks_uri: text(&meta, "jwks_uri", &url)?,
        keys: Vec::new(),
    };
    provider.keys = keys(&agent, &provider.jwks_uri)?;
    Ok(provider)
}

/// The provider's RSA signing keys.
fn keys(agent: &ureq::Agent, url: &str) -> Result<Vec<RsaKey>, OidcError> {
    let (_, jwks) = read_json(agent.get(url).call(), url)?;
    let keys = jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter(|k| k["kty"] == "RSA" && k["use"] != "enc")
                .filter_map(|k| {
                    Some(RsaKey {
                        kid: k["kid"].as_str().map(str::to_string),
                        n: unb64url(k["n"].as_str()?).ok()?,
                        e: unb64url(k["e"].as_str()?).ok()?,
                    })
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        return Err(OidcError::Unreadable {
            url: url.into(),
            why: "no RSA signing key".into(),
        });
    }
    Ok(keys)
}

impl Provider {
    /// Where the browser goes to sign in.
    pub fn authorization_url(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> String {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile email"),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", &challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        .expect("strings encode");
        let sep = if self.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{query}", self.authorization_endpoint)
    }

    /// Where the browser goes to sign out at the provider too, if it says.
    pub fn logout_url(&self, id_token: &str, after: &str) -> Option<String> {
        let end = self.end_session_endpoint.as_ref()?;
        let query = serde_urlencoded::to_string([
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", after),
        ])
        .expect("strings encode");
        let sep = if end.contains('?') { '&' } else { '?' };
        Some(format!("{end}{sep}{query}"))
    }

    /// Redeems an authorization code and checks the ID token it brings.
    pub fn redeem(
        &mut self,
        config: &OidcConfig,
        redirect_uri: &str,
        code: &str,
        verifier: &str,
        nonce: &str,
        now: i64,
    ) -> Result<Person, OidcError> {
        let agent = agent(config)?;
        let secret = match &config.client_secret {
            Some(source) => Some(
                source
                    .read("[web.oidc] client secret")
                    .map_err(|e| OidcError::Secret(e.to_string()))?,
            ),
            None => None,
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", config.client_id.as_str()),
            ("code_verifier", verifier),
        ];
        if let Some(secret) = &secret {
            form.push(("client_secret", secret.expose()));
        }
        let url = self.token_endpoint.clone();
        let (status, answer) = read_json(agent.post(&url).send_form(form), &url)?;
        if status != 200 {
            return Err(OidcError::Refused(format!(
                "{} {}",
                answer["error"].as_str().unwrap_or("error"),
                answer["error_description"].as_str().unwrap_or("")
            )));
        }
        let id_token = text(&answer, "id_token", &url)?;
        let claims = match self.verify(&id_token) {
            Err(OidcError::UnknownKey(_)) => {
                // The provider rolled its keys over: read them again, once.
                self.keys = keys(&agent, &self.jwks_uri)?;
                self.verify(&id_token)?
            }
            other => other?,
        };
        person(self, config, claims, nonce, now, id_token)
    }

    /// The token's claims, once its signature is the provider's.
    fn verify(&self, token: &str) -> Result<Claims, OidcError> {
        let mut parts = token.split('.');
        let (Some(head), Some(body), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OidcError::BadToken("not a signed JWT".into()));
        };
        let header: JoseHeader = serde_json::from_slice(&unb64url(head)?)
            .map_err(|e| OidcError::BadToken(format!("header: {e}")))?;
        if header.alg != "RS256" {
            return Err(OidcError::BadToken(format!(
                "signed with {:?}, only RS256 is accepted",
                header.alg
            )));
        }
        let kid = header.kid.as_deref();
        let candidates: Vec<&RsaKey> = self
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .collect();
        if candidates.is_empty() {
            return Err(OidcError::UnknownKey(format!("{kid:?}")));
        }
        let signed = format!("{head}.{body}");
        let signature = unb64url(sig)?;
        let good = candidates.iter().any(|k| {
            ring::signature::RsaPublicKeyComponents { n: &k.n, e: &k.e }
                .verify(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    signed.as_bytes(),
                    &signature,
                )
                .is_ok()
        });
        if !good {
            return Err(OidcError::BadToken(
                "its signature is not the provider's".into(),
            ));
        }
        serde_json::from_slice(&unb64url(body)?)
            .map_err(|e| OidcError::BadToken(format!("claims: {e}")))
    }
}

/// A signed token's JOSE header: how it is signed, by which key.
#[derive(Debug, Deserialize)]
struct JoseHeader {
    alg: String,
    kid: Option<String>,
}

/// One audience or several (both are OpenID Connect).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// A string or a list of them (a roles or groups claim).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Strings {
    One(String),
    Many(Vec<serde_json::Value>),
}

/// An ID token's claims, as the console checks and reads them. What is missing is
/// `None`, so that [`person`] says which check failed; the roles claim is named by
/// the config (`roles_claim`), so it is looked up among the others.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<Audience>,
    azp: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nonce: Option<String>,
    sub: Option<String>,
    name: Option<String>,
    email: Option<String>,
    preferred_username: Option<String>,
    /// Entra's overage: the claims it left out and where they went.
    #[serde(rename = "_claim_names", default)]
    claim_names: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(flatten)]
    others: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Claims {
    /// The roles claim `claim` as a list (a single string is one role).
    fn roles(&self, claim: &str) -> Vec<String> {
        let Some(value) = self.others.get(claim) else {
            return Vec::new();
        };
        match serde_json::from_value::<Strings>(value.clone()) {
            Ok(Strings::One(one)) => vec![one],
            Ok(Strings::Many(values)) => values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The person a token's checked claims name.
fn person(
    provider: &Provider,
    config: &OidcConfig,
    claims: Claims,
    nonce: &str,
    now: i64,
    id_token: String,
) -> Result<Person, OidcError> {
    let bad = |why: String| Err(OidcError::BadToken(why));
    if claims.iss.as_deref() != Some(provider.issuer.as_str()) {
        return bad(format!("issued by {:?}", claims.iss));
    }
    let audience_ok = match &claims.aud {
        Some(Audience::One(a)) => a == &config.client_id,
        Some(Audience::Many(a)) => a.iter().any(|x| x == &config.client_id),
        None => false,
    };
    if !audience_ok {
        return bad(format!("meant for {:?}, not this console", claims.aud));
    }
    if claims
        .azp
        .as_ref()
        .is_some_and(|azp| azp != &config.client_id)
    {
        return bad("issued to another client (azp)".into());
    }
    if claims.exp.unwrap_or(0) + LEEWAY_SECONDS < now {
        return bad("expired".into());
    }
    if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECONDS) {
        return bad("issued in the future (is this server's clock right?)".into());
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return bad("its nonce is not this sign-in's".into());
    }
    let Some(subject) = claims.sub.as_deref().filter(|s| !s.is_empty()) else {
        return bad("no subject".into());
    };
    let claim = &config.roles_claim;
    // Entra leaves the groups claim out past 200 groups and says where it went.
    if claims.claim_names.contains_key(claim) {
        return bad(format!(
            "the provider left the `{claim}` claim out (Entra does past 200 groups): give the console's users app roles and set [web.oidc] roles_claim = \"roles\""
        ));
    }
    let roles = claims.roles(claim);
    let email = claims
        .email
        .as_deref()
        .or(claims.preferred_username.as_deref())
        .unwrap_or("");
    Ok(Person {
        issuer: provider.issuer.clone(),
        subject: subject.to_string(),
        name: plain(claims.name.as_deref().unwrap_or(email)),
        email: plain(email),
        roles,
        id_token,
    })
}

/// A name from a token as the timeline shows it: no control or bidirectional
/// characters, no brackets (which could fake the part the console adds), 80 at most.
pub fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !mnotify_core::html::is_bidi_control(*c))
        .filter(|c| !matches!(c, '(' | ')' | '[' | ']' | '<' | '>'))
        .take(80)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_the_verifier_s_sha256_in_base64url() {
        // SHA-256("abc") is FIPS 180-2's first example, ba7816bf…f20015ad.
        assert_eq!(
            challenge("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn names_from_tokens_lose_what_could_mislead() {
        assert_eq!(plain("Ana \u{202e}Popescu (root)"), "Ana Popescu root");
        assert_eq!(plain(&"x".repeat(200)).len(), 80);
    }

    fn config() -> OidcConfig {
        OidcConfig {
            issuer: "https://idp.test".into(),
            client_id: "console".into(),
            client_secret: None,
            ca_file: None,
            roles_claim: "roles".into(),
            staff_roles: vec!["Staff".into()],
            viewer_roles: vec!["Viewer".into()],
        }
    }

    fn provider() -> Provider {
        Provider {
            issuer: "https://idp.test".into(),
            authorization_endpoint: "https://idp.test/auth".into(),
            token_endpoint: "https://idp.test/token".into(),
            end_session_endpoint: None,
            jwks_uri: "https://idp.test/jwks".into(),
            keys: Vec::new(),
        }
    }

    fn typed(value: serde_json::Value) -> Claims {
        serde_json::from_value(value).expect("claims")
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "iss": "https://idp.test", "aud": "console", "sub": "u1", "nonce": "n",
            "exp": 2_000, "iat": 1_000, "name": "Ana", "email": "ana@egov.md",
            "roles": ["Staff"],
        })
    }

    #[test]
    fn a_token_for_another_audience_issuer_nonce_or_time_is_refused() {
        let (p, c) = (provider(), config());
        let ok = person(&p, &c, typed(claims()), "n", 1_500, String::new()).expect("good claims");
        assert_eq!(
            (ok.subject.as_str(), ok.roles.as_slice()),
            ("u1", &["Staff".to_string()][..])
        );
        for (key, value) in [
            ("aud", serde_json::json!("other")),
            ("iss", serde_json::json!("https://evil.test")),
            ("nonce", serde_json::json!("m")),
            ("exp", serde_json::json!(1_000)),
        ] {
            let mut bad = claims();
            bad[key] = value;
            assert!(
                person(&p, &c, typed(bad), "n", 1_500, String::new()).is_err(),
                "{key} was not checked"
            );
        }
        let mut overage = claims();
        overage["_claim_names"] = serde_json::json!({"roles": "src1"});
        assert!(person(&p, &c, typed(overage), "n", 1_500, String::new()).is_err());
        // A single role as a string, and an audience list naming the console.
        let mut one = claims();
        one["roles"] = serde_json::json!("Viewer");
        one["aud"] = serde_json::json!(["other", "console"]);
        let ok = person(&p, &c, typed(one), "n", 1_500, String::new()).expect("good claims");
        assert_eq!(ok.roles, ["Viewer"]);
    }

    #[test]
    fn an_unsigned_or_hs256_token_is_refused() {
        let p = provider();
        let none = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(b"{}"));
        assert!(p.verify(&none).is_err());
        let hs = format!(
            "{}.{}.{}",
            b64url(br#"{"alg":"HS256"}"#),
            b64url(b"{}"),
            b64url(b"x")
        );
        assert!(matches!(p.verify(&hs), Err(OidcError::BadToken(w)) if w.contains("RS256")));
    }
}
