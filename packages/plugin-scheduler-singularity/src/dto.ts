/**
 * The parts of Singularity's REST API objects Sous reads and writes, as
 * documented in HubSpot/Singularity Docs/reference/apidocs/models.md.
 */

export type RequestType = 'SERVICE' | 'WORKER' | 'ON_DEMAND' | 'SCHEDULED' | 'RUN_ONCE';

/** SingularityRequest: the long-lived parent of every deploy. */
export interface SingularityRequest {
  id: string;
  requestType: RequestType;
  instances?: number;
  owners?: string[];
  schedule?: string;
  scheduleType?: 'CRON' | 'QUARTZ';
}

/** SingularityDeployMarker: points at one deploy of a request. */
export interface DeployMarker {
  requestId: string;
  deployId: string;
  timestamp?: number;
  user?: string;
  message?: string;
}

export interface TaskId {
  requestId?: string;
  deployId?: string;
  instanceNo?: number;
  id?: string;
}

/** SingularityRequestParent: what GET /api/requests lists and most writes answer. */
export interface RequestParent {
  request: SingularityRequest;
  state?: 'ACTIVE' | 'DELETED' | 'DELETING' | 'PAUSED' | 'SYSTEM_COOLDOWN' | 'FINISHED' | 'DEPLOYING_TO_UNPAUSE' | string;
  requestDeployState?: { requestId?: string; activeDeploy?: DeployMarker; pendingDeploy?: DeployMarker };
  activeDeploy?: SingularityDeploy;
  pendingDeploy?: SingularityDeploy;
  /** Present in newer Singularity versions: the request's tasks by health. */
  taskIds?: { healthy?: TaskId[]; notYetHealthy?: TaskId[]; pending?: TaskId[]; cleaning?: TaskId[] };
}

/** HealthcheckOptions. */
export interface Healthcheck {
  uri: string;
  protocol?: 'HTTP' | 'HTTPS';
  portIndex?: number;
  startupDelaySeconds?: number;
  startupTimeoutSeconds?: number;
  startupIntervalSeconds?: number;
  intervalSeconds?: number;
  responseTimeoutSeconds?: number;
  maxRetries?: number;
  failureStatusCodes?: number[];
}

export interface SingularityVolume {
  containerPath: string;
  hostPath: string;
  mode?: 'RO' | 'RW';
}

/** SingularityDeploy: one immutable version of a request's tasks. */
export interface SingularityDeploy {
  id: string;
  requestId: string;
  resources?: { cpus?: number; memoryMb?: number; numPorts?: number; diskMb?: number };
  env?: Record<string, string>;
  metadata?: Record<string, string>;
  arguments?: string[];
  healthcheck?: Healthcheck;
  containerInfo?: {
    type: 'DOCKER' | 'MESOS';
    docker?: { image: string; network?: 'BRIDGE' | 'HOST' | 'NONE'; privileged?: boolean; forcePullImage?: boolean };
    volumes?: SingularityVolume[];
  };
}

/** SingularityDeployResult: set once a deploy has finished, well or badly. */
export interface DeployResult {
  deployState: 'SUCCEEDED' | 'FAILED_INTERNAL_STATE' | 'CANCELING' | 'WAITING' | 'OVERDUE' | 'FAILED' | 'CANCELED' | string;
  message?: string;
  deployFailures?: { reason?: string; message?: string; taskId?: TaskId }[];
  timestamp?: number;
}

/** SingularityDeployHistory. */
export interface DeployHistory {
  deployMarker?: DeployMarker;
  deploy?: SingularityDeploy;
  deployResult?: DeployResult;
}

/** SingularityDeployRequest (POST /api/deploys). */
export interface DeployRequest {
  deploy: SingularityDeploy;
  message?: string;
  unpauseOnSuccessfulDeploy?: boolean;
}
