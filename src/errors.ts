/**
 * Errors with a stable `code` that scripts and the Slack front end can switch on,
 * and a message that says what to do next.
 */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "USAGE"
  | "UNKNOWN_CLUSTER"
  | "UNKNOWN_HOST"
  | "REFUSED"
  | "SSH_UNREACHABLE"
  | "SSH_AUTH_FAILED"
  | "SSH_HOST_KEY_UNKNOWN"
  | "SSH_HOST_KEY_CHANGED"
  | "SSH_HOST_KEY_REVOKED"
  | "REMOTE_COMMAND_FAILED"
  | "REMOTE_COMMAND_TIMEOUT"
  | "REDIS_UNREACHABLE"
  | "REDIS_COMMAND_FAILED"
  | "VERIFY_FAILED"
  | "TIMEOUT"
  | "ABORTED";

export class FailoverError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FailoverError";
    this.code = code;
  }
}

export function isFailoverError(error: unknown, code?: ErrorCode): error is FailoverError {
  return error instanceof FailoverError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for reports; never includes a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
