// Runs graphql-request (pinned in package.json) against the fake and prints one JSON
// object: what each call answered or how it failed. Read by tests/clients/test_graphql_request.py.
// Environment: LOGSCALE_URL (the fake's /graphql URL), TOKEN, MEMBER_TOKEN.
import { GraphQLClient } from 'graphql-request';

const url = process.env.LOGSCALE_URL;
const headers = { Authorization: `Bearer ${process.env.TOKEN}` };

async function outcome(call) {
  try {
    return { data: await call() };
  } catch (error) {
    const response = error.response ?? {};
    return {
      status: response.status ?? null,
      errors: (response.errors ?? []).map((e) => ({ message: e.message, extensions: e.extensions })),
      error: String(error.message).slice(0, 500),
    };
  }
}

const client = new GraphQLClient(url, { headers });
const member = new GraphQLClient(url, {
  headers: { Authorization: `Bearer ${process.env.MEMBER_TOKEN}` },
});
const getter = new GraphQLClient(url, { headers, method: 'GET' });
const nobody = new GraphQLClient(url, { headers: { Authorization: 'Bearer not-a-token' } });

const SESSIONS = '{ sessions { totalResults results { id lastActivityAt } } }';
const EXPLICIT =
  '{ sessions(level: Organization, sortBy: LastActivityTime, orderBy: ASC, skip: 0, limit: 50, onlyActiveSessions: true) { totalResults results { id lastActivityAt } } }';

const result = {
  defaults: await outcome(() => client.request(SESSIONS)),
  explicit: await outcome(() => client.request(EXPLICIT)),
  memberDefaults: await outcome(() => member.request(SESSIONS)),
  viewer: await outcome(() =>
    client.request('{ viewer { username currentOrganization { id } } currentUser { allowedOrganizationActions } }'),
  ),
  longAsText: await outcome(() =>
    client.request(
      'mutation($i: Long!, $f: Long!) { updateSessionSettings(input: {maxInactivityPeriod: $i, forceReauthenticationAfter: $f}) { id } }',
      { i: '36000000', f: '8640000000' },
    ),
  ),
  get: await outcome(() => getter.request('{ currentUser { id } }')),
  batch: await outcome(() =>
    client.batchRequests([{ document: '{ currentUser { id } }' }, { document: '{ organization { id } }' }]),
  ),
  unauthorized: await outcome(() => nobody.request('{ currentUser { id } }')),
  unserved: await outcome(() => client.request('{ viewerOpt { id } }')),
};
console.log(JSON.stringify(result));
