/**
 * The codes a failed (or warned) contract carries, in its result's `code`,
 * at the start of its `message`, and in the CONTRACT_FAILED error's details.
 * Stable: scripts and dashboards match on them.
 */
export const CONTRACT_CODES = {
  /** A contract did not finish within its own timeout. */
  timeout: 'CONTRACT_TIMEOUT',
  /** The container stopped on its own while a contract needed it running. */
  containerExited: 'CONTAINER_EXITED',
  /** The engine refused to start the container (its command is missing, say). */
  containerStartFailed: 'CONTAINER_START_FAILED',
  /** Nothing answered HTTP on the published port within the startup timeout. */
  portNeverOpened: 'PORT_NEVER_OPENED',
  /** The port answered HTTP, but the readiness path never answered 2xx. */
  notReady: 'NOT_READY',
  /** The process was still running when the grace period after SIGTERM ended. */
  stopTimeout: 'STOP_TIMEOUT',
  /** The process stopped after SIGTERM with an exit code other than 0 or 143. */
  uncleanExit: 'UNCLEAN_EXIT',
  /** The image lacks labels every Sous image carries. */
  missingLabels: 'MISSING_LABELS',
  /** The image runs as root. */
  runsAsRoot: 'RUNS_AS_ROOT',
  /** A custom HTTP contract got another status than expected. */
  httpStatus: 'CONTRACT_HTTP_STATUS',
  /** A custom HTTP contract's body did not match its pattern. */
  httpBody: 'CONTRACT_HTTP_BODY',
  /** A custom HTTP contract's request failed (connection reset, refused). */
  httpError: 'CONTRACT_HTTP_ERROR',
  /** A command contract's program does not exist in the image. */
  commandNotFound: 'CONTRACT_COMMAND_NOT_FOUND',
  /** A command contract exited with another code than expected. */
  commandExitCode: 'CONTRACT_COMMAND_EXIT_CODE',
  /** A command contract's output did not match its pattern. */
  commandOutput: 'CONTRACT_COMMAND_OUTPUT',
} as const;

export type ContractCode = (typeof CONTRACT_CODES)[keyof typeof CONTRACT_CODES];
