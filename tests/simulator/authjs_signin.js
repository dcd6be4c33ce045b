// Signs demo users in with the official @okta/okta-auth-js against a running simulator: alice
// (password), bob (password + email code read from the simulator's outbox), carol (password +
// Google Authenticator TOTP computed here), frank (password, enrolls a security question, skips the
// rest). Prints one JSON line per user.
// Usage: node authjs_signin.js ISSUER REDIRECT_URI   (NODE_PATH must reach node_modules with auth-js)
const crypto = require('crypto');
const { demoClient, latestCode: latestCodeFor } = require('./authjs_common');

const [issuer, redirectUri] = process.argv.slice(2);
const client = () => demoClient(issuer, redirectUri);
const latestCode = (to) => latestCodeFor(issuer, to);

// RFC 6238 TOTP (SHA-1, 30 s, 6 digits) from a base32 secret, as an authenticator app computes it.
function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const digest = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// What each user answers at each step auth-js reports (`seen` = times this step came before).
const USERS = [
  ['alice@example.com', 'Alice-Passw0rd!', {}],
  ['bob@example.com', 'Bob-Passw0rd!', {
    'challenge-authenticator': async () => ({ verificationCode: await latestCode('bob@example.com') }),
  }],
  ['carol@example.com', 'Carol-Passw0rd!', {
    'challenge-authenticator': async () => ({ verificationCode: totp('CAROLCAROLCAROL2') }),
  }],
  ['frank@example.com', 'Frank-Passw0rd!', {
    'select-authenticator-enroll': async (seen) => (seen ? { skip: true } : { authenticator: 'security_question' }),
    'enroll-authenticator': async () => ({ questionKey: 'disliked_food', answer: 'Cold spinach' }),
  }],
];

async function signIn(username, password, answers) {
  const authClient = client();
  // Legacy (flow) mode: auth-js picks remediations itself, as apps on auth-js 7 do.
  let tx = await authClient.idx.authenticate({ username, password, enableLegacyMode: true });
  const steps = [];
  while (tx.status === 'PENDING') {
    const step = tx.nextStep.name;
    const answer = answers[step];
    if (!answer || steps.length > 5) {
      throw new Error(`unexpected step ${step}: ${JSON.stringify(tx.messages || [])}`);
    }
    const seen = steps.filter((s) => s === step).length;
    steps.push(step);
    tx = await authClient.idx.proceed({ ...(await answer(seen)), enableLegacyMode: true });
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
  for (const [user, password, answers] of USERS) {
    console.log(JSON.stringify(await signIn(user, password, answers)));
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.xhr) console.error(JSON.stringify(e.xhr));
  process.exit(1);
});
