// The private mail stack's OAuth 2.0 server (scripts/mail-stack): oidc-provider, an
// OpenID-certified server from npm, issuing app-only tokens by the client-credentials
// grant, as Entra ID does for a daemon (a client secret, or a certificate's signed JWT
// assertion, RFC 7523). Its access tokens are JWTs signed HS256 with the stack's key
// (DIR/oauth2.key, kid "default"), which Dovecot checks locally; the claim `email`
// names the mailbox the client was granted (client-credentials tokens name no user:
// Exchange maps the service principal to the mailboxes it was granted, and Dovecot's
// username_attribute = email does that here).
//
//
// It is also the staff console's OpenID Connect provider, as Entra ID is the agency's:
// the authorization code grant with PKCE for the client DIR/oauth/console.json names
// ({ "client_id", "client_secret" }; any loopback port may be its redirect, as RFC 8252
// allows native clients), a sign-in page of its own that checks DIR/oauth/users.json
// ({ "login": { "password", "name", "email", "roles": [...] } }), no consent prompt
// (the console is the agency's own application), ID tokens signed RS256 with a key made
// at start, carrying name, email and the app-role claim `roles` as Entra's do.
//
// Usage: node oauth-server.mjs DIR PORT  (DIR/oauth/clients.json lists the clients:
// [{ "client_id", "client_secret" | "certificate" (a PEM file), "mailbox", "ttl"? }],
// tokens of `ttl` seconds, default 3600).
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createPublicKey, createSecretKey, generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const [dir, port] = process.argv.slice(2);
const key = createSecretKey(readFileSync(`${dir}/oauth2.key`));
const clients = JSON.parse(readFileSync(`${dir}/oauth/clients.json`, "utf8"));
const mailboxOf = Object.fromEntries(clients.map((c) => [c.client_id, c.mailbox]));
const ttlOf = Object.fromEntries(clients.map((c) => [c.client_id, c.ttl || 3600]));
// A certificate client's public key, as the JWK set it authenticates with.
const jwksOf = (c) => ({
  keys: [{ ...createPublicKey(readFileSync(c.certificate)).export({ format: "jwk" }), alg: "PS256", use: "sig" }],
});
const consoleClient = existsSync(`${dir}/oauth/console.json`)
  ? JSON.parse(readFileSync(`${dir}/oauth/console.json`, "utf8"))
  : null;
const users = existsSync(`${dir}/oauth/users.json`)
  ? JSON.parse(readFileSync(`${dir}/oauth/users.json`, "utf8"))
  : {};
const signing = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
const RESOURCE = "https://outlook.office365.com";
const SCOPE = `${RESOURCE}/.default`;

const issuer = `http://127.0.0.1:${port}`;
const consoleClients = consoleClient
  ? [{
      client_id: consoleClient.client_id,
      client_secret: consoleClient.client_secret,
      token_endpoint_auth_method: "client_secret_post",
      application_type: "native",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      redirect_uris: ["http://127.0.0.1/login/callback"],
      post_logout_redirect_uris: ["http://127.0.0.1/"],
    }]
  : [];
const provider = new Provider(issuer, {
  jwks: { keys: [{ ...signing, alg: "RS256", use: "sig", kid: "console" }] },
  findAccount: (ctx, id) =>
    users[id] && {
      accountId: id,
      claims: () => {
        const u = users[id];
        return { sub: id, name: u.name, email: u.email, preferred_username: u.email, ...(u.roles ? { roles: u.roles } : {}) };
      },
    },
  claims: { openid: ["sub", "roles"], email: ["email"], profile: ["name", "preferred_username"] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The console is the agency's own: its sign-in needs no consent screen.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!consoleClient || ctx.oidc.client.clientId !== consoleClient.client_id) return undefined;
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    grant.addOIDCClaims(["roles"]);
    await grant.save();
    return grant;
  },
  clients: consoleClients.concat(clients.map((c) => ({
    client_id: c.client_id,
    ...(c.client_secret
      ? { client_secret: c.client_secret, token_endpoint_auth_method: "client_secret_post" }
      : { jwks: jwksOf(c), token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "PS256" }),
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
  }))),
  scopes: [SCOPE],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Entra's v2 clients ask by scope, without a resource parameter.
      defaultResource: (ctx, client) =>
        consoleClient && client?.clientId === consoleClient.client_id ? undefined : RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: SCOPE,
        audience: RESOURCE,
        accessTokenTTL: ttlOf[client.clientId],
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "HS256", key, kid: "default" } },
      }),
    },
  },
  extraTokenClaims: (ctx, token) => ({ email: mailboxOf[token.clientId] }),
  // RFC 9068 types its tokens "at+jwt"; Dovecot 2.3 takes only "JWT".
  formats: {
    customizers: {
      jwt: (ctx, token, jwt) => {
        jwt.header = { ...jwt.header, typ: "JWT" };
        return jwt;
      },
    },
  },
  ttl: { ClientCredentials: (ctx, token, client) => ttlOf[client.clientId] },
  clientAuthMethods: ["client_secret_post", "client_secret_basic", "private_key_jwt"],
});
// A loopback console may sign out to any of its ports, as it may sign in.
const allowedAfterLogout = provider.Client.prototype.postLogoutRedirectUriAllowed;
provider.Client.prototype.postLogoutRedirectUriAllowed = function (value) {
  try {
    const u = new URL(value);
    if (this.applicationType === "native" && u.protocol === "http:" && u.hostname === "127.0.0.1" && u.pathname === "/") return true;
  } catch {}
  return allowedAfterLogout.call(this, value);
};

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (uid, error) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Agency sign-in (test provider)</h1>${error ? `<p id="error">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>User <input id="login" name="login" autocomplete="username" autofocus></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="submit" type="submit">Sign in</button></form></body></html>`;

async function readForm(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) throw new Error("form too large");
  }
  return new URLSearchParams(body);
}

// The sign-in page: a user of users.json with their password, or the page again.
async function interaction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  const uid = details.uid;
  if (req.method === "POST" && url.pathname === `/interaction/${uid}/login`) {
    const form = await readForm(req);
    const login = form.get("login") || "";
    const user = users[login];
    if (!user || user.password !== form.get("password")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page(uid, "Unknown user or wrong password."));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  if (details.prompt.name === "consent") {
    // The console is the agency's own application: what it asks for is granted.
    const d = details.prompt.details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(" "));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(" "));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(page(uid));
}

const callback = provider.callback();
createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith("/interaction/")) {
    interaction(req, res, url).catch((e) => {
      console.error(`oauth-server: sign-in: ${e}`);
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`sign-in failed: ${e.message}`);
    });
    return;
  }
  callback(req, res);
}).listen(Number(port), "127.0.0.1", () => {
  console.log(`oauth-server: listening on 127.0.0.1:${port}`);
});
