import { FailoverError } from "../errors.js";

export interface ConnectContext {
  name: string;
  address: string;
  host: string;
  port: number;
  user: string;
  connectTimeoutMs: number;
  /** Where the private key came from, for messages ("/etc/bot/id_ed25519" or "the configured key"). */
  keySource: string;
}

type Ssh2Error = Error & { level?: string; code?: string };

/** Maps an ssh2 connection error to SSH_UNREACHABLE or SSH_AUTH_FAILED with a message naming the host. */
export function connectError(error: unknown, ctx: ConnectContext): FailoverError {
  const err = (error instanceof Error ? error : new Error(String(error))) as Ssh2Error;
  const who = `${ctx.name} (${ctx.address})`;
  if (err.level === "client-authentication") {
    return new FailoverError(
      "SSH_AUTH_FAILED",
      `SSH authentication to ${who} failed: the server did not accept ${ctx.keySource} for user ` +
        `${ctx.user}. Check that the matching public key is in ~${ctx.user}/.ssh/authorized_keys ` +
        `on ${ctx.host} and that ${ctx.user} may log in over SSH.`,
      { cause: err },
    );
  }
  return new FailoverError("SSH_UNREACHABLE", `Cannot reach ${who} over SSH: ${reason(err, ctx)}`, {
    cause: err,
  });
}

function reason(err: Ssh2Error, ctx: ConnectContext): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return `connection refused (is sshd running and listening on ${ctx.host} port ${ctx.port}?)`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `no route to ${ctx.host} (is the host up?)`;
    case "ETIMEDOUT":
      return "the TCP connection timed out (is the host up, and is a firewall dropping the port?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve the host name ${ctx.host}`;
    case "ECONNRESET":
    case "EPIPE":
      return "the connection was reset by the server";
  }
  if (err.level === "client-timeout" && /handshake/i.test(err.message)) {
    return `no SSH handshake within ${ctx.connectTimeoutMs / 1000}s (is the host up and is port ${ctx.port} sshd?)`;
  }
  if (/Keepalive timeout/i.test(err.message)) return "the server stopped answering keepalives";
  if (/before handshake/i.test(err.message))
    return "the server closed the connection before the SSH handshake";
  return err.message;
}

/** The private key could not be read or decrypted: an authentication problem, never echoing the key. */
export function privateKeyError(
  ctx: ConnectContext,
  detail: string,
  cause?: unknown,
): FailoverError {
  return new FailoverError(
    "SSH_AUTH_FAILED",
    `Cannot use ${ctx.keySource} to log in to ${ctx.name} (${ctx.address}): ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}
