// Keep me signed in with the official @okta/okta-auth-js: kim's sign-on rule asks "Stay signed
// in?" (keep-me-signed-in) after her password.
// (a) legacy (flow) mode, as apps on auth-js 7 drive it: authenticate() stops there, because the
//     authenticate flow has no remediator for keep-me-signed-in (auth-js has none at all);
// (b) step mode (auth-js 8's default): the caller names each step, and keep-me-signed-in is
//     proceeded like any other form, to tokens.
// Prints one JSON line per mode. Usage: node authjs_kmsi.js ISSUER REDIRECT_URI (NODE_PATH: auth-js)
const { demoClient } = require('./authjs_common');

const [issuer, redirectUri] = process.argv.slice(2);
const KIM = ['kim@example.com', 'Kim-Passw0rd!'];

async function legacy() {
  const authClient = demoClient(issuer, redirectUri);
  try {
    const tx = await authClient.idx.authenticate({ username: KIM[0], password: KIM[1], enableLegacyMode: true });
    return { mode: 'legacy', status: tx.status, nextStep: tx.nextStep && tx.nextStep.name };
  } catch (e) {
    return { mode: 'legacy', error: e.name, message: e.message.replace(/\s+/g, ' ').trim() };
  }
}

async function stepMode() {
  const authClient = demoClient(issuer, redirectUri);
  authClient.transactionManager.clear(); // memory storage is shared: forget the legacy attempt
  const steps = [];
  let tx = await authClient.idx.authenticate({ username: KIM[0], step: 'identify' });
  steps.push(tx.nextStep.name);
  tx = await authClient.idx.proceed({ step: 'challenge-authenticator', password: KIM[1] });
  steps.push(tx.nextStep.name);
  const inputs = tx.nextStep.inputs.map((i) => ({ name: i.name, type: i.type, required: i.required }));
  tx = await authClient.idx.proceed({ step: 'keep-me-signed-in', keepMeSignedIn: true });
  await authClient.token.verify(tx.tokens.idToken);
  return { mode: 'step', steps, inputs, status: tx.status, sub: tx.tokens.idToken.claims.sub };
}

(async () => {
  console.log(JSON.stringify(await legacy()));
  console.log(JSON.stringify(await stepMode()));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
