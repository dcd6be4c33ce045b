// Journeys beside sign-in with the official @okta/okta-auth-js against a running simulator:
// (a) self-service registration (idx.register: profile with the org's custom attributes and a
//     password, then the email enrollment the policy requires, code read from the outbox);
// (b) password recovery (idx.recoverPassword: email code from the outbox, new password), then a
//     sign-in with the new password.
// Each ends with tokens whose ID token auth-js verified. Prints one JSON line per journey.
// Usage: node authjs_journeys.js ISSUER REDIRECT_URI NEW_USER RECOVERING_USER NEW_PASSWORD
//        (NODE_PATH must reach node_modules with auth-js)
const { demoClient, latestCode: latestCodeFor } = require('./authjs_common');

const [issuer, redirectUri, newUser, recoveringUser, newPassword] = process.argv.slice(2);
const client = () => demoClient(issuer, redirectUri);
const latestCode = (to) => latestCodeFor(issuer, to);

// Follow auth-js's nextStep, answering each step by name; `steps` records them in order.
async function drive(authClient, tx, answers, steps) {
  while (tx.status === 'PENDING') {
    const step = tx.nextStep.name;
    const answer = answers[step];
    if (!answer || steps.length > 6) {
      throw new Error(`unexpected step ${step} after ${steps}: ${JSON.stringify(tx.messages || [])}`);
    }
    const seen = steps.filter((s) => s === step).length;
    steps.push(step);
    tx = await authClient.idx.proceed({ ...(await answer(tx, seen)), enableLegacyMode: true });
  }
  if (tx.status !== 'SUCCESS') {
    throw new Error(`status ${tx.status} after ${steps}: ${JSON.stringify(tx.messages || tx.error || {})}`);
  }
  return tx;
}

async function summary(authClient, tx, extra) {
  const { idToken, accessToken } = tx.tokens;
  await authClient.token.verify(idToken); // signature checked against the simulator's JWKS
  return { ...extra, sub: idToken.claims.sub, email: idToken.claims.email, name: idToken.claims.name,
           amr: idToken.claims.amr, iss: idToken.claims.iss, accessToken: Boolean(accessToken && accessToken.accessToken) };
}

async function register() {
  const authClient = client();
  const steps = [];
  let tx = await authClient.idx.register({
    firstName: 'Nia', lastName: 'Nakamura', email: newUser, favoriteColor: 'blue', newsletter: true,
    password: newPassword, enableLegacyMode: true,
  });
  const offered = [];
  tx = await drive(authClient, tx, {
    'select-authenticator-enroll': async (t) => {
      offered.push(...t.nextStep.inputs[0].options.map((o) => o.value));
      return { authenticator: 'okta_email' };
    },
    'enroll-authenticator': async () => ({ verificationCode: await latestCode(newUser) }),
  }, steps);
  return summary(authClient, tx, { journey: 'register', steps, offered });
}

async function recover() {
  const authClient = client();
  const steps = [];
  let tx = await authClient.idx.recoverPassword({ username: recoveringUser, enableLegacyMode: true });
  tx = await drive(authClient, tx, {
    'select-authenticator-authenticate': async () => ({ authenticator: 'okta_email' }),
    'challenge-authenticator': async () => ({ verificationCode: await latestCode(recoveringUser) }),
    'reset-authenticator': async () => ({ password: newPassword }),
  }, steps);
  const recovered = await summary(authClient, tx, { journey: 'recover', steps });

  // The new password signs in afresh (a new client, nothing shared).
  const again = client();
  const signedIn = await again.idx.authenticate({ username: recoveringUser, password: newPassword, enableLegacyMode: true });
  if (signedIn.status !== 'SUCCESS') {
    throw new Error(`sign-in with the new password: ${signedIn.status} ${JSON.stringify(signedIn.messages || [])}`);
  }
  return { ...recovered, signedInAgain: signedIn.tokens.idToken.claims.sub };
}

(async () => {
  console.log(JSON.stringify(await register()));
  console.log(JSON.stringify(await recover()));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.xhr) console.error(JSON.stringify(e.xhr));
  process.exit(1);
});
