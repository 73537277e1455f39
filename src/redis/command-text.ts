/**
 * How a Redis command is shown to people (plans, step output, logs): arguments quoted like
 * redis-cli would accept them, and secret-bearing arguments masked whatever their value.
 */
const SECRET_CONFIG_PARAMETERS = new Set(["requirepass", "masterauth", "masteruser"]);

export function redisCommandText(args: ReadonlyArray<string | number>): string {
  const [name = "", ...rest] = args.map(String);
  const upper = name.toUpperCase();
  if (upper === "AUTH" || upper === "HELLO") return `${upper} [redacted]`;
  const shown = rest.map((arg, index) => {
    if (
      upper === "CONFIG" &&
      index === 2 &&
      SECRET_CONFIG_PARAMETERS.has((rest[1] ?? "").toLowerCase())
    ) {
      return "[redacted]";
    }
    return /^[\w.:@/-]+$/.test(arg) ? arg : JSON.stringify(arg);
  });
  return [upper, ...shown].join(" ");
}
