//! A real headless Chromium driven over WebDriver (Debian's chromium and
//! chromium-driver, installed by scripts/test), and the console's sign-in through the
//! stack's OpenID Connect provider.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Conditions in a page are waited for this long.
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

/// One browser: its driver process, its own profile, its WebDriver session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port for chromedriver")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (tries another port if the one
    /// picked is taken before chromedriver binds it).
    pub async fn start() -> Browser {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "the console's browser tests need {CHROMIUM} and {CHROMEDRIVER}: run scripts/test (it installs Debian's chromium and chromium-driver)"
        );
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let profile = tempfile::tempdir().unwrap();
            let mut caps = serde_json::Map::new();
            caps.insert(
                "goog:chromeOptions".into(),
                serde_json::json!({
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                        "--lang=ro", format!("--user-data-dir={}", profile.path().display()),
                    ],
                }),
            );
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                match ClientBuilder::new(connector)
                    .capabilities(caps.clone())
                    .connect(&format!("http://127.0.0.1:{port}"))
                    .await
                {
                    Ok(client) => {
                        return Browser {
                            client,
                            driver,
                            _profile: profile,
                        }
                    }
                    Err(e) => last = e.to_string(),
                }
                if driver.try_wait().ok().flatten().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let _ = driver.kill();
            let _ = driver.wait();
        }
        panic!("chromedriver and Chromium did not start: {last}");
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The element `css` finds, once it is there.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let page = self.client.source().await.unwrap_or_default();
                let page: String = page.chars().take(3000).collect();
                panic!(
                    "no element {css} within {PAGE_WAIT:?} ({e}) on {}:\n{page}",
                    self.url().await
                )
            }
        }
    }

    /// The `value` of the first element matching `css` (a form's hidden field), once
    /// it is there.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("the element's value")
            .unwrap_or_default()
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// The session cookie the console set, for requests made outside the browser.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client
            .get_named_cookie(name)
            .await
            .ok()
            .map(|c| c.value().to_string())
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("a screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// Signs in at the console `base` as `user` through the provider's page; returns
    /// the page the console shows then.
    pub async fn sign_in(&self, base: &str, user: &str, password: &str) {
        self.goto(&format!("{base}/")).await;
        self.find("#sign-in")
            .await
            .click()
            .await
            .expect("click sign in");
        self.at_provider(user, password).await;
    }

    /// Fills in the provider's sign-in page as `user`.
    pub async fn at_provider(&self, user: &str, password: &str) {
        self.find("#login").await.send_keys(user).await.unwrap();
        self.find("#password")
            .await
            .send_keys(password)
            .await
            .unwrap();
        self.find("#submit").await.click().await.unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
