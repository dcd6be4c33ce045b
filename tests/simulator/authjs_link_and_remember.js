// Issue 23 with the official @okta/okta-auth-js against a running simulator:
// (a) registration's "Already have an account? Sign in" (select-identify): idx.register stops at the
//     profile form, the caller proceeds with that step alone (auth-js sends only the state handle),
//     lands on identify and signs alice in;
// (b) "Keep me signed in" at identify (rememberMe: true): kim, whose rule asks "Stay signed in?"
//     after her password, signs in in legacy mode without that question (auth-js has no
//     remediator for it, so it would stop there).
// Prints one JSON line per journey. Usage: node authjs_link_and_remember.js ISSUER REDIRECT_URI
//        (NODE_PATH must reach node_modules with auth-js)
const { demoClient } = require('./authjs_common');

const [issuer, redirectUri] = process.argv.slice(2);

async function signInLink() {
  const authClient = demoClient(issuer, redirectUri);
  const steps = [];
  let tx = await authClient.idx.register({ enableLegacyMode: true });
  steps.push(tx.nextStep.name);
  tx = await authClient.idx.proceed({ step: 'select-identify' });
  steps.push(tx.nextStep.name);
  // The transaction's flow is registration, which has no remediator for identify or the password
  // challenge: auth-js then posts each form's own field names.
  tx = await authClient.idx.proceed({ step: 'identify', identifier: 'alice@example.com' });
  steps.push(tx.nextStep.name);
  tx = await authClient.idx.proceed({ step: 'challenge-authenticator', credentials: { passcode: 'Alice-Passw0rd!' } });
  await authClient.token.verify(tx.tokens.idToken);
  return { journey: 'sign-in link', steps, status: tx.status, email: tx.tokens.idToken.claims.email };
}

async function rememberMe() {
  const authClient = demoClient(issuer, redirectUri);
  authClient.transactionManager.clear(); // memory storage is shared: forget the first journey
  const tx = await authClient.idx.authenticate({
    username: 'kim@example.com', password: 'Kim-Passw0rd!', rememberMe: true, enableLegacyMode: true,
  });
  if (tx.status !== 'SUCCESS') {
    throw new Error(`status ${tx.status}: ${JSON.stringify(tx.messages || [])}`);
  }
  await authClient.token.verify(tx.tokens.idToken);
  return { journey: 'remember me', status: tx.status, email: tx.tokens.idToken.claims.email };
}

(async () => {
  console.log(JSON.stringify(await signInLink()));
  console.log(JSON.stringify(await rememberMe()));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
