/**
 * Shell commands are built only here. A `ShellCommand` is either code-authored text whose
 * interpolated values are single-quoted (`sh` tag), or a command string taken verbatim from
 * the operator's inventory. User-supplied text can never reach a remote shell unquoted.
 */
declare const shellCommandBrand: unique symbol;
export type ShellCommand = string & { readonly [shellCommandBrand]: true };

/** POSIX single-quote quoting: safe for any byte string except NUL. */
export function quote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell argument cannot contain a NUL byte");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `sh\`cat -- ${path}\`` quotes every interpolated value; literal parts are trusted code. */
export function sh(
  literals: TemplateStringsArray,
  ...values: Array<string | number>
): ShellCommand {
  let out = literals[0] ?? "";
  values.forEach((value, i) => {
    out += quote(String(value)) + (literals[i + 1] ?? "");
  });
  return out as ShellCommand;
}

/** Quotes every element of an argument vector. */
export function argv(args: readonly string[]): ShellCommand {
  return args.map(quote).join(" ") as ShellCommand;
}

/** Runs commands one after another; joining safe commands keeps them safe. */
export function sequence(...commands: ShellCommand[]): ShellCommand {
  return commands.join("; ") as ShellCommand;
}

/** A command written by the operator in the inventory (for example a host's `start`). */
export function inventoryCommand(command: string): ShellCommand {
  return command as ShellCommand;
}
