// A Node.js test suite against `pytest-logscale serve`, steering the fake through its control
// API: the built-in node:test runner and the global fetch, no npm packages.
//
//   LOGSCALE_URL=http://127.0.0.1:PORT LOGSCALE_TOKEN=... node --test control.test.mjs
//
// LOGSCALE_URL and LOGSCALE_TOKEN (an owner's session) are the first two lines `serve` prints.
// tests/clients/test_node_control.py runs this file under pytest (docs/clients.md).
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

const URL = process.env.LOGSCALE_URL;
const TOKEN = process.env.LOGSCALE_TOKEN;
assert.ok(URL && TOKEN, 'set LOGSCALE_URL and LOGSCALE_TOKEN (printed by pytest-logscale serve)');

// A control API call: JSON in, JSON out; any status other than 200 fails the test.
async function control(method, path, body) {
  const response = await fetch(`${URL}/_fake${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  return answer;
}

// A GraphQL request as a LogScale client sends it; returns the response and its body
// (parsed when it is JSON: a 401 may be plain text).
async function graphql(query, variables = {}, token = TOKEN) {
  const response = await fetch(`${URL}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { response, body: json ? JSON.parse(text) : text };
}

const PAGE = `query Page($skip: Int!) {
  sessions(level: Organization, onlyActiveSessions: false, sortBy: LoginTime, orderBy: DESC,
           skip: $skip, limit: 10) {
    totalResults
    results { id user { id username } }
  }
}`;
const REVOKE = `mutation Revoke($id: String!) {
  revokeSession(input: { id: $id, revocationType: Session })
}`;
const ACTIVE = 'query Active { sessions(level: Organization) { totalResults } }';

async function page(skip, token = TOKEN) {
  const { response, body } = await graphql(PAGE, { skip }, token);
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.data.sessions;
}

async function activeSessions() {
  const { response, body } = await graphql(ACTIVE);
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.data.sessions.totalResults;
}

async function userRole(role) {
  const { users } = await control('GET', '/users');
  return users.find((user) => user.role === role);
}

beforeEach(async () => {
  await control('POST', '/reset');
});

test('lists every session of the organization page by page', async () => {
  const first = await page(0);
  const seen = new Set(first.results.map((session) => session.id));
  for (let skip = 10; skip < first.totalResults; skip += 10) {
    for (const session of (await page(skip)).results) {
      assert.ok(!seen.has(session.id), `session ${session.id} is on two pages`);
      seen.add(session.id);
    }
  }
  assert.equal(seen.size, first.totalResults);
  const { entries } = await control('GET', '/journal?operation=Page');
  assert.equal(entries.length, Math.ceil(first.totalResults / 10));
  assert.deepEqual(entries.map((entry) => entry.variables.skip),
    entries.map((_, index) => index * 10));
});

test('revokes a session, and the journal shows the call', async () => {
  const before = await activeSessions();
  const member = await userRole('member');
  const login = await control('POST', '/login', { user: member.id });
  assert.equal(await activeSessions(), before + 1);

  const { response, body } = await graphql(REVOKE, { id: login.sessionId });
  assert.equal(response.status, 200);
  assert.deepEqual(body, { data: { revokeSession: true } });
  assert.equal(await activeSessions(), before);
  assert.equal((await graphql(ACTIVE, {}, login.token)).response.status, 401);

  const { entries } = await control('GET', '/journal?field=revokeSession');
  assert.equal(entries.length, 1);
  assert.equal(entries[0].operationName, 'Revoke');
  assert.deepEqual(entries[0].variables, { id: login.sessionId });
  assert.deepEqual(entries[0].calls, [
    { field: 'revokeSession', arguments: { input: { id: login.sessionId, revocationType: 'Session' } } },
  ]);
});

test('each test starts from the seeded state, whatever the last one did', async () => {
  const { entries } = await control('GET', '/journal');
  assert.deepEqual(entries, []);
  assert.deepEqual((await control('GET', '/faults')).faults, []);
  assert.equal((await control('GET', '/rate-limit')).rateLimit, null);
  const { users } = await control('GET', '/users');
  for (const user of users) {
    for (const token of [user.sessionToken, ...user.apiTokens].filter(Boolean)) {
      assert.equal((await graphql(ACTIVE, {}, token)).response.status, 200, user.username);
    }
  }
  // a session logged in by an earlier test is gone
  assert.equal((await control('GET', '/state')).newSessions.length, 0);
});

test('moving the clock expires a session after its inactivity period', async () => {
  const admin = await userRole('admin');
  const { token } = await control('POST', '/login', { user: admin.username });
  assert.equal((await graphql(ACTIVE, {}, token)).response.status, 200);

  const { epochMs } = await control('GET', '/clock');
  const moved = await control('POST', '/clock', { advance: 11 * 3600 * 1000 });
  assert.equal(moved.epochMs, epochMs + 11 * 3600 * 1000);

  assert.equal((await graphql(ACTIVE, {}, token)).response.status, 401);
  const [last] = (await control('GET', '/journal')).entries.slice(-1);
  assert.equal(last.status, 401);
  assert.match(last.reason, /expired/); // the journal says why; the answer need not
});

test('an injected 429 carries Retry-After, and the next request goes through', async () => {
  await control('POST', '/faults',
    { fault: 'rateLimited', retryAfter: 30, times: 1, rootField: 'sessions' });
  const limited = await graphql(ACTIVE);
  assert.equal(limited.response.status, 429);
  assert.equal(limited.response.headers.get('retry-after'), '30');
  assert.deepEqual((await control('GET', '/faults')).faults, []);
  assert.equal((await graphql(ACTIVE)).response.status, 200);

  const { entries } = await control('GET', '/journal?field=sessions');
  assert.deepEqual(entries.map((entry) => entry.status), [429, 200]);
  assert.ok(entries[0].fault);
});

test('a rate limit answers 429 until the clock frees the window', async () => {
  await control('PUT', '/rate-limit', { requests: 2, windowMs: 60000 });
  assert.equal((await graphql(ACTIVE)).response.status, 200);
  assert.equal((await graphql(ACTIVE)).response.status, 200);
  const limited = await graphql(ACTIVE);
  assert.equal(limited.response.status, 429);
  assert.equal(limited.response.headers.get('retry-after'), '60');
  await control('POST', '/clock', { advance: 60000 });
  assert.equal((await graphql(ACTIVE)).response.status, 200);
  await control('DELETE', '/rate-limit');
});

test('a refused control call names the bad field', async () => {
  const response = await fetch(`${URL}/_fake/clock`, {
    method: 'POST',
    body: JSON.stringify({ advance: -5 }),
  });
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.field, 'advance');
});
