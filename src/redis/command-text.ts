/**
 * How a Redis command is shown to people (plans, step output, logs): arguments quoted like
 * redis-cli would accept them, and secret-bearing arguments masked whatever their value.
 */
const SECRET_CONFIG_PARAMETERS = new Set(["requirepass", "masterauth", "masteruser"]);

export function redisCommandText(args: ReadonlyArray<string | number>): string {
  const [name = "", ...rest] = args.map(String);
  const upper = name.toUpperCase();
  if (upper === "AUTH" || upper === "HELLO") return `${upper} [redacted]`;
  const isConfigSet = upper === "CONFIG" && (rest[0] ?? "").toUpperCase() === "SET";
  const shown = rest.map((arg, index) => {
    // CONFIG SET name value [name value ...]: values sit at even indexes from 2.
    const secretValue =
      isConfigSet &&
      index >= 2 &&
      index % 2 === 0 &&
      SECRET_CONFIG_PARAMETERS.has((rest[index - 1] ?? "").toLowerCase());
    if (secretValue) return "[redacted]";
    return /^[\w.:@/-]+$/.test(arg) ? arg : JSON.stringify(arg);
  });
  return [upper, ...shown].join(" ");
}
