/**
 * A Singularity cluster as the original Sous left it, for the adoption tests
 * and the adoption benchmark. Every request and deploy history is the
 * original's own test data (test/fixtures/original/ext/singularity/testdata/
 * request.json and deployhistory.json) with the fields that name one
 * deployment replaced: ids, image, resources, env, metadata (the image's
 * labels plus cluster and flavor, as the original's buildDeployRequest sent
 * them), healthcheck and instances. A settled deploy gets the
 * `deployResult: SUCCEEDED` Singularity adds when it finishes (modelled from
 * Singularity's SingularityDeployResult; the original's testdata is of a
 * deploy still WAITING). Modelled, not captured from a live Singularity.
 */
'use strict';
const path = require('node:path');

const TESTDATA = path.resolve(__dirname, '../fixtures/original/ext/singularity/testdata');
const REQUEST = require(path.join(TESTDATA, 'request.json'));
const HISTORY = require(path.join(TESTDATA, 'deployhistory.json'));

const clone = (v) => JSON.parse(JSON.stringify(v));

/** The deploy ID the original made: the version's tag with `.`/`-` as `_`, `_`, 32 hex digits. */
function deployID(tag, n) {
  return `${tag.replace(/[^a-zA-Z0-9]/g, '_')}_${String(n).padStart(32, '0').slice(-32)}`;
}

/** The Singularity healthcheck the original sent for a Startup (zero fields left to Singularity). */
function healthcheck(st) {
  const hc = { uri: st.CheckReadyURIPath || '/health', portIndex: st.CheckReadyPortIndex || 0, protocol: (st.CheckReadyProtocol || 'HTTP').toUpperCase() };
  const map = { ConnectDelay: 'startupDelaySeconds', Timeout: 'startupTimeoutSeconds', ConnectInterval: 'startupIntervalSeconds', CheckReadyInterval: 'intervalSeconds', CheckReadyURITimeout: 'responseTimeoutSeconds', CheckReadyRetries: 'maxRetries' };
  for (const [k, w] of Object.entries(map)) if (st[k]) hc[w] = st[k];
  if (st.CheckReadyFailureStatuses && st.CheckReadyFailureStatuses.length) hc.failureStatusCodes = [...st.CheckReadyFailureStatuses];
  return hc;
}

/**
 * One deployment the original made and Singularity finished.
 * d: { requestId, cluster, repo, offset?, flavor?, tag (M.m.p[-pre]), revision, image (repository@digest),
 *      cpus, memoryMb, numPorts, env, instances, owners?, startup?, n (a number to make the deploy ID) or deployId }
 * Returns { parent, history }: the request as GET /api/requests lists it, and its deploy's history.
 */
function originalDeployment(d) {
  const dep = clone(HISTORY.deploy);
  const id = d.deployId ?? deployID(d.tag, d.n ?? 1);
  dep.requestId = d.requestId;
  dep.id = id;
  dep.containerInfo.docker.image = d.image;
  dep.resources = { cpus: d.cpus, memoryMb: d.memoryMb, numPorts: d.numPorts, diskMb: 0 };
  dep.env = { ...d.env };
  dep.metadata = {
    'com.opentable.sous.clustername': d.cluster,
    'com.opentable.sous.flavor': d.flavor ?? '',
    'com.opentable.sous.repo_offset': d.offset ?? '',
    'com.opentable.sous.repo_url': d.repo,
    'com.opentable.sous.revision': d.revision,
    'com.opentable.sous.version': d.tag,
  };
  if (d.startup && d.startup.SkipCheck) delete dep.healthcheck;
  else dep.healthcheck = healthcheck(d.startup ?? {});
  const marker = { requestId: d.requestId, deployId: id, timestamp: HISTORY.deployMarker.timestamp };

  const parent = clone(REQUEST);
  parent.request = { id: d.requestId, requestType: 'SERVICE', owners: [...(d.owners ?? [])], instances: d.instances };
  parent.requestDeployState = { requestId: d.requestId, activeDeploy: marker };
  parent.activeDeploy = dep;
  delete parent.pendingDeploy;
  delete parent.pendingDeployState;
  delete parent.taskIds;
  delete parent.mostRecentTask;
  parent.lastHistory.request = clone(parent.request);

  const history = clone(HISTORY);
  history.deployMarker = marker;
  history.deploy = dep;
  history.deployResult = { deployState: 'SUCCEEDED', message: 'Deploy succeeded', deployFailures: [], timestamp: HISTORY.deployMarker.timestamp + 60000 };
  return { parent, history };
}

/**
 * The exchanges a Sous reading these clusters makes, for the replay server:
 * each cluster's GET /api/requests, then for each request its newest deploy
 * (GET /api/history/request/{id}/deploys?count=1&page=1) and that deploy's
 * history, in any order (the reads run concurrently).
 * clusters: { [prefix]: [{ parent, history }] }, prefix being the path the cluster's BaseURL ends in.
 */
function readExchanges(clusters) {
  const ex = [];
  for (const [prefix, list] of Object.entries(clusters)) {
    ex.push({ group: 'read', note: `${prefix}: every request`, request: { method: 'GET', path: `${prefix}/api/requests` }, response: { status: 200, body: list.map((x) => x.parent) } });
    for (const { parent, history } of list) {
      const rid = encodeURIComponent(parent.request.id);
      ex.push({ group: 'read', request: { method: 'GET', path: `${prefix}/api/history/request/${rid}/deploys`, query: { count: '1', page: '1' } }, response: { status: 200, body: [{ deployMarker: history.deployMarker }] } });
      ex.push({ group: 'read', request: { method: 'GET', path: `${prefix}/api/history/request/${rid}/deploy/${encodeURIComponent(history.deploy.id)}` }, response: { status: 200, body: history } });
    }
  }
  return ex;
}

module.exports = { originalDeployment, readExchanges, healthcheck, REQUEST, HISTORY };
