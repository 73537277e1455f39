import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import { errorMessage } from "../errors.js";
import type { ApprovalCheck, ApproverCheck } from "../runs/approvers.js";

const GROUP_CACHE_MS = 60_000;

/**
 * Decides who may approve: someone other than the requester, listed in the cluster's
 * `approvers` by user id or through a user group (S…) whose members Slack lists.
 */
export class Approvers implements ApproverCheck {
  readonly #client: WebClient;
  readonly #log: Logger;
  readonly #groups = new Map<string, { members: Promise<Set<string>>; at: number }>();

  constructor(client: WebClient, log: Logger) {
    this.#client = client;
    this.#log = log.child({ component: "approvers" });
  }

  async check(
    approvers: readonly string[],
    user: string,
    requester: string,
  ): Promise<ApprovalCheck> {
    if (user === requester) {
      return {
        ok: false,
        reason: "you asked for this failover, so someone else must approve it (two-person rule)",
      };
    }
    if (approvers.includes(user)) return { ok: true };
    const problems: string[] = [];
    for (const group of approvers.filter((id) => id.startsWith("S"))) {
      try {
        if ((await this.#members(group)).has(user)) return { ok: true };
      } catch (error) {
        problems.push(`could not read user group ${group}: ${errorMessage(error)}`);
      }
    }
    const listed =
      approvers.map((id) => (id.startsWith("S") ? `<!subteam^${id}>` : `<@${id}>`)).join(", ") ||
      "nobody";
    return {
      ok: false,
      reason: `you are not an approver for this cluster (approvers: ${listed})${problems.length ? `; ${problems.join("; ")}` : ""}`,
    };
  }

  /** Members of a user group, asked of Slack at most once a minute (concurrent asks share one call). */
  #members(group: string): Promise<Set<string>> {
    const cached = this.#groups.get(group);
    if (cached && Date.now() - cached.at < GROUP_CACHE_MS) return cached.members;
    const members = this.#client.usergroups.users.list({ usergroup: group }).then((response) => {
      this.#log.debug({ group, members: response.users?.length ?? 0 }, "user group resolved");
      return new Set(response.users ?? []);
    });
    this.#groups.set(group, { members, at: Date.now() });
    members.catch(() => this.#groups.delete(group));
    return members;
  }
}
