/**
 * Making remote and user-provided text safe for Slack mrkdwn: only &, < and > are control
 * characters there (they become &amp; &lt; &gt;, also inside code blocks), and a run of
 * backticks inside a code block would end it early.
 */

const ANSI =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping terminal escape sequences
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Normalises text from a terminal or a remote server: CR/CRLF become newlines, ANSI escape
 * sequences go, other control characters and unpaired surrogates become U+FFFD. Idempotent.
 */
export function cleanText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(ANSI, "")
    .replace(CONTROL, "\ufffd")
    .replace(LONE_SURROGATE, "\ufffd");
}

/**
 * Text shown as itself in mrkdwn: never a link, mention or date, and never the start of a code
 * block (a run of three or more backticks gets U+200B between them; single ones stay).
 */
export function escapeMrkdwn(text: string): string {
  return cleanText(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/`{3,}/g, (run) => run.split("").join("\u200b"));
}

/**
 * Like escapeMrkdwn, but well-formed Slack references the bot itself writes into its messages
 * (<@U…> users, <#C…> channels, <!subteam^S…> user groups) stay live.
 */
export function escapeMrkdwnKeepingMentions(text: string): string {
  return escapeMrkdwn(text).replace(
    /&lt;(@[UW][A-Z0-9]+|#C[A-Z0-9]+|!subteam\^S[A-Z0-9]+)&gt;/g,
    (_match, reference: string) => `<${reference}>`,
  );
}

/** The inside of a ``` code block: escaped, and no two backticks in a row (U+200B between them). */
export function escapeCode(text: string): string {
  return escapeMrkdwn(text).replace(/`(?=`)/g, "`\u200b");
}

/** A ``` code block around already escaped (escapeCode) text. */
export function fence(escaped: string): string {
  return `\`\`\`\n${escaped.length > 0 ? escaped : " "}\n\`\`\``;
}

/** `text` in inline code (a backtick inside becomes U+02CB, which looks alike). */
export function inlineCode(text: string): string {
  const inner = escapeMrkdwn(text).replace(/`/g, "\u02cb");
  return inner.trim().length > 0 ? `\`${inner}\`` : inner;
}

/** A user mention for a Slack user id; anything that does not look like one is shown escaped. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{1,40}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** `2023-11-14 22:13 UTC`: a time anyone can read without Slack's help (fallbacks, files). */
export function utcText(ms: number): string {
  if (!Number.isFinite(ms)) return "unknown time";
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Slack's date formatting: shown in each reader's time zone, with a UTC fallback. */
export function slackDate(ms: number, format = "{time}"): string {
  if (!Number.isFinite(ms)) return "unknown time";
  return `<!date^${Math.floor(ms / 1000)}^${format}|${utcText(ms)}>`;
}

/** A name safe to use as an uploaded file's name. */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100) || "file";
}

/** `<@id>` for a Slack user id, else the raw text: for text that goes through `fallbackText`. */
export function rawMention(userId: string): string {
  return /^[UW][A-Z0-9]{1,40}$/.test(userId) ? `<@${userId}>` : userId;
}

/**
 * The top-level `text` of a message (notifications, screen readers): raw text escaped except
 * for `<@U…>` mentions, shortened, and never empty.
 */
export function fallbackText(raw: string, max = 1000): string {
  const short = raw.length > max ? `${raw.slice(0, max - 1)}…` : raw;
  const text = short
    .split(/(<@[UW][A-Z0-9]{1,40}>)/)
    .map((piece, i) => (i % 2 === 1 ? piece : escapeMrkdwn(piece)))
    .join("")
    .trim();
  return text.length > 0 ? text : "Redis failover bot";
}
