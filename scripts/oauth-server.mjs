// The private mail stack's OAuth 2.0 server (scripts/mail-stack): oidc-provider, an
// OpenID-certified server from npm, issuing app-only tokens by the client-credentials
// grant, as Entra ID does for a daemon (a client secret, or a certificate's signed JWT
// assertion, RFC 7523). Its access tokens are JWTs signed HS256 with the stack's key
// (DIR/oauth2.key, kid "default"), which Dovecot checks locally; the claim `email`
// names the mailbox the client was granted (client-credentials tokens name no user:
// Exchange maps the service principal to the mailboxes it was granted, and Dovecot's
// username_attribute = email does that here).
//
// Usage: node oauth-server.mjs DIR PORT  (DIR/oauth/clients.json lists the clients:
// [{ "client_id", "client_secret" | "certificate" (a PEM file), "mailbox", "ttl"? }],
// tokens of `ttl` seconds, default 3600).
import { readFileSync } from "node:fs";
import { createPublicKey, createSecretKey } from "node:crypto";
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
const RESOURCE = "https://outlook.office365.com";
const SCOPE = `${RESOURCE}/.default`;

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    ...(c.client_secret
      ? { client_secret: c.client_secret, token_endpoint_auth_method: "client_secret_post" }
      : { jwks: jwksOf(c), token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "PS256" }),
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
  })),
  scopes: [SCOPE],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      // Entra's v2 clients ask by scope, without a resource parameter.
      defaultResource: () => RESOURCE,
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
provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oauth-server: listening on 127.0.0.1:${port}`);
});
