/** Read-only views of stored messages, so tests can assert what a person would see. */

export interface ButtonView {
  block_id: string | undefined;
  action_id: string | undefined;
  text: string;
  value: string | undefined;
  style: string | undefined;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null;

/** Every button in the blocks (actions elements and section accessories), in order. */
export function messageButtons(message: { blocks?: unknown[] }): ButtonView[] {
  const out: ButtonView[] = [];
  for (const block of message.blocks ?? []) {
    if (!isObject(block)) continue;
    const candidates = Array.isArray(block.elements) ? [...block.elements] : [];
    if (block.accessory !== undefined) candidates.push(block.accessory);
    for (const el of candidates) {
      if (!isObject(el) || el.type !== "button") continue;
      out.push({
        block_id: typeof block.block_id === "string" ? block.block_id : undefined,
        action_id: typeof el.action_id === "string" ? el.action_id : undefined,
        text: isObject(el.text) && typeof el.text.text === "string" ? el.text.text : "",
        value: typeof el.value === "string" ? el.value : undefined,
        style: typeof el.style === "string" ? el.style : undefined,
      });
    }
  }
  return out;
}

/** The top-level text plus every text string inside the blocks, joined by newlines. */
export function messageText(message: { text?: string; blocks?: unknown[] }): string {
  const parts: string[] = message.text ? [message.text] : [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) {
      if (typeof v.text === "string") parts.push(v.text);
      for (const [k, child] of Object.entries(v)) if (k !== "text") walk(child);
      if (isObject(v.text)) walk(v.text);
    }
  };
  walk(message.blocks ?? []);
  return parts.join("\n");
}
