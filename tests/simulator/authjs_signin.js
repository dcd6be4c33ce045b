// Signs alice (password) and bob (password + email code read from the simulator's outbox) in with
// the official @okta/okta-auth-js against a running simulator. Prints one JSON line per user.
// Usage: node authjs_signin.js ISSUER REDIRECT_URI   (NODE_PATH must reach node_modules with auth-js)
const { OktaAuth } = require('@okta/okta-auth-js');

const [issuer, redirectUri] = process.argv.slice(2);
const origin = new URL(issuer).origin;

function client() {
  return new OktaAuth({
    issuer,
    clientId: 'demo-client',
    clientSecret: 'demo-secret',
    redirectUri,
    scopes: ['openid', 'profile', 'email'],
    tokenManager: { storage: 'memory' },
    storageManager: { transaction: { storageType: 'memory' }, 'shared-transaction': { storageType: 'memory' } },
  });
}

async function latestCode(to) {
  const response = await fetch(`${origin}/outbox.json?to=${encodeURIComponent(to)}`);
  const messages = await response.json();
  return messages[0].code;
}

async function signIn(username, password) {
  const authClient = client();
  // Legacy (flow) mode: auth-js picks remediations itself, as apps on auth-js 7 do.
  let tx = await authClient.idx.authenticate({ username, password, enableLegacyMode: true });
  const steps = [];
  while (tx.status === 'PENDING') {
    steps.push(tx.nextStep.name);
    if (tx.nextStep.name !== 'challenge-authenticator' || steps.length > 5) {
      throw new Error(`unexpected step ${tx.nextStep.name}: ${JSON.stringify(tx.messages || [])}`);
    }
    tx = await authClient.idx.proceed({ verificationCode: await latestCode(username), enableLegacyMode: true });
  }
  if (tx.status !== 'SUCCESS') {
    throw new Error(`status ${tx.status}: ${JSON.stringify(tx.messages || tx.error || {})}`);
  }
  const { idToken, accessToken } = tx.tokens;
  // auth-js verified the ID token when it stored it; verify once more explicitly (signature by JWKS).
  await authClient.token.verify(idToken);
  return { username, steps, sub: idToken.claims.sub, email: idToken.claims.email, amr: idToken.claims.amr,
           iss: idToken.claims.iss, accessToken: Boolean(accessToken.accessToken) };
}

(async () => {
  for (const [user, password] of [['alice@example.com', 'Alice-Passw0rd!'], ['bob@example.com', 'Bob-Passw0rd!']]) {
    console.log(JSON.stringify(await signIn(user, password)));
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.xhr) console.error(JSON.stringify(e.xhr));
  process.exit(1);
});
