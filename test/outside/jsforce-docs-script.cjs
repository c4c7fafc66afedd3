// An ordinary jsforce program, written from jsforce's and Salesforce's public
// documentation only (https://jsforce.github.io/document): nothing in it knows
// about the emulator except the login URL it is given. Exits non-zero on any
// failure; prints one JSON summary line.
const jsforce = require('jsforce');

async function main() {
  const { LOGIN_URL, CLIENT_ID, CLIENT_SECRET, SF_USERNAME, SF_PASSWORD } = process.env;
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: LOGIN_URL, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: 'http://localhost:3000/oauth2/callback' },
    version: '59.0',
  });
  // Username-password OAuth flow (Resource Owner Password Credential)
  const userInfo = await conn.login(SF_USERNAME, SF_PASSWORD);
  const identity = await conn.identity();

  // CRUD
  const ret = await conn.sobject('Account').create({ Name: 'My Account #1' });
  if (!ret.success) throw new Error('create failed');
  const account = await conn.sobject('Account').retrieve(ret.id);
  await conn.sobject('Account').update({ Id: ret.id, Name: 'Updated Account #1' });
  const many = await conn.sobject('Account').create([{ Name: 'My Account #2' }, { Name: 'My Account #3' }]);

  // Query, the query builder, and queryAll
  const res = await conn.query('SELECT Id, Name FROM Account WHERE Name LIKE \'%Account%\' ORDER BY Name');
  const found = await conn.sobject('Account')
    .find({ Name: { $like: 'My Account%' } }, 'Id, Name, CreatedDate')
    .sort({ CreatedDate: -1, Name: 1 })
    .limit(5)
    .execute();
  const count = await conn.sobject('Account').count({ Name: { $like: '%Account%' } });
  await conn.sobject('Account').destroy(many[0].id);
  const all = await conn.query('SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true', { scanAll: true });

  // Describe and limits
  const meta = await conn.sobject('Account').describe();
  const global = await conn.describeGlobal();
  const limits = await conn.limits();

  console.log(JSON.stringify({
    orgId: userInfo.organizationId,
    identityUser: identity.user_id,
    retrievedName: account.Name,
    queried: res.totalSize,
    found: found.length,
    count,
    deletedSeen: all.totalSize,
    fields: meta.fields.length,
    hasAccount: global.sobjects.some((s) => s.name === 'Account'),
    dailyApiMax: limits.DailyApiRequests.Max,
  }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
