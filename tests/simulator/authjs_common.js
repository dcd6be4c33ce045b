// What the auth-js scripts share: a client for the simulator's demo app, kept in memory (node has
// no browser storage), and the newest code the simulator's outbox holds for an address.
const { OktaAuth } = require('@okta/okta-auth-js');

function demoClient(issuer, redirectUri) {
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

async function latestCode(issuer, to) {
  const response = await fetch(`${new URL(issuer).origin}/outbox.json?to=${encodeURIComponent(to)}`);
  const messages = (await response.json()).filter((m) => m.code);
  if (!messages.length) throw new Error(`no code in the outbox for ${to}`);
  return messages[0].code;
}

module.exports = { demoClient, latestCode };
