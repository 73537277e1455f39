import { z } from "zod";

/**
 * The inventory file's shape. Key names are a contract: outside scripts write these files,
 * so keys may be added but never renamed.
 */

const nonEmpty = z.string().trim().min(1, "must not be empty");
const port = z.number().int().min(1).max(65535);
/** A file on a remote machine: absolute, since no working directory there is known. */
const remotePath = z
  .string()
  .trim()
  .regex(/^\/[^\0\n]*$/, "must be an absolute path on the replica (it is read there, not here)");
const envName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    "must be an environment variable name, e.g. CACHE_PROD_REDIS_PASSWORD",
  );
const hostKeyFingerprint = z
  .string()
  .regex(
    /^SHA256:[A-Za-z0-9+/]{43}=?$/,
    'must look like "SHA256:" followed by 43 base64 characters (ssh-keygen -lf)',
  );

export const sshSettingsSchema = z
  .object({
    user: nonEmpty.optional(),
    port: port.optional(),
    privateKeyFile: nonEmpty.optional(),
    /** Environment variable holding the private key's passphrase, if it has one. */
    privateKeyPassphraseEnv: envName.optional(),
    knownHostsFile: nonEmpty.optional(),
    hostKey: hostKeyFingerprint.optional(),
    connectTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

const hostSshSchema = sshSettingsSchema.extend({ host: nonEmpty }).strict();

const tlsSchema = z.union([
  z.boolean(),
  z
    .object({
      caFile: nonEmpty.optional(),
      servername: nonEmpty.optional(),
      rejectUnauthorized: z.boolean().optional(),
    })
    .strict(),
]);

export const hostSchema = z
  .object({
    redis: z.object({ host: nonEmpty, port: port.default(6379) }).strict(),
    ssh: hostSshSchema.optional(),
    /** "local" runs this host's commands on the bot's own machine (the demo sandbox). */
    transport: z.enum(["ssh", "local"]).optional(),
    dir: nonEmpty.optional(),
    dbfilename: nonEmpty.default("dump.rdb"),
    start: nonEmpty.optional(),
    /** Path of redis.conf on the host: lets preflight read `appendonly` while Redis is down. */
    config: nonEmpty.optional(),
  })
  .strict();

const timeoutsSchema = z
  .object({
    connectMs: z.number().int().positive().default(3_000),
    commandMs: z.number().int().positive().default(5_000),
    remoteCommandMs: z.number().int().positive().default(120_000),
    snapshotMs: z
      .number()
      .int()
      .positive()
      .default(30 * 60_000),
    copyMs: z
      .number()
      .int()
      .positive()
      .default(2 * 60 * 60_000),
    startMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
    syncMs: z
      .number()
      .int()
      .positive()
      .default(30 * 60_000),
    failoverMs: z.number().int().positive().default(10_000),
  })
  .strict();

/** The Sentinels that manage a cluster: the bot then fails over through them, not behind their back. */
const sentinelSchema = z
  .object({
    hosts: z
      .array(z.object({ host: nonEmpty, port: port.default(26379) }).strict())
      .min(1, "list at least one Sentinel (host and port)"),
    /** The name the Sentinels monitor the master under (`sentinel monitor <masterName> ...`). */
    masterName: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "master names may use letters, digits, . _ -"),
    /** Environment variable holding the Sentinels' own password (requirepass on the Sentinels). */
    passwordEnv: envName.optional(),
    usernameEnv: envName.optional(),
    /** TLS to the Sentinels; the cluster's tls: when not given. */
    tls: tlsSchema.optional(),
    /** How long a run waits for a quorum of Sentinels and the servers to agree on the new master. */
    agreeTimeoutMs: z.number().int().positive().default(60_000),
  })
  .strict()
  .refine(
    (sentinel) =>
      new Set(sentinel.hosts.map((entry) => `${entry.host}:${entry.port}`)).size ===
      sentinel.hosts.length,
    { message: "a Sentinel is listed twice", path: ["hosts"] },
  );

export const clusterSchema = z
  .object({
    approvers: z.array(nonEmpty).default([]),
    channels: z.array(nonEmpty).default([]),
    redisPasswordEnv: envName.optional(),
    redisUsernameEnv: envName.optional(),
    tls: tlsSchema.optional(),
    discovery: z
      .object({
        url: z
          .string()
          .regex(
            /^rediss?:\/\//,
            'must be a redis:// or rediss:// URL, e.g. "redis://10.0.0.5:6379/0"',
          )
          .refine(
            (url) => URL.canParse(url),
            "is not a valid URL (percent-encode special characters in a password, or better, use passwordEnv)",
          ),
        key: nonEmpty.optional(),
        passwordEnv: envName.optional(),
      })
      .strict()
      .optional(),
    snapshot: z
      .object({
        /** Use a blocking SAVE when BGSAVE cannot run (for example fork fails for lack of memory). */
        fallbackToSave: z.boolean().default(false),
      })
      .strict()
      .default({ fallbackToSave: false }),
    /**
     * How the snapshot travels from the replica (B) to the spare (C). "relay" (the default)
     * streams it through the bot and needs no trust between B and C; "direct" runs OpenSSH on B
     * to reach C, with B's key for C and C's host key pinned in a known_hosts file on B.
     */
    copy: z
      .discriminatedUnion("mode", [
        z.object({ mode: z.literal("relay") }).strict(),
        z
          .object({
            mode: z.literal("direct"),
            /** Path ON B of the private key B uses to log in to C. */
            identityFile: remotePath,
            /** Path ON B of a known_hosts file listing C's host key (never trusted on first use). */
            knownHostsFile: remotePath,
          })
          .strict(),
      ])
      .default({ mode: "relay" }),
    timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
    sentinel: sentinelSchema.optional(),
    hosts: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "host names may use letters, digits, . _ -"),
        hostSchema,
      )
      .refine((hosts) => Object.keys(hosts).length >= 2, "a cluster needs at least two hosts"),
  })
  .strict();

export const inventorySchema = z
  .object({
    ssh: sshSettingsSchema.default({}),
    clusters: z.record(
      z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "cluster names may use letters, digits, . _ -"),
      clusterSchema,
    ),
  })
  .strict();

export type InventoryFile = z.infer<typeof inventorySchema>;
export type ClusterFile = z.infer<typeof clusterSchema>;
export type HostFile = z.infer<typeof hostSchema>;
export type SshSettings = z.infer<typeof sshSettingsSchema>;
export type TlsSettings = z.infer<typeof tlsSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
export type SentinelFile = z.infer<typeof sentinelSchema>;
export type CopySettings = z.infer<typeof clusterSchema>["copy"];
