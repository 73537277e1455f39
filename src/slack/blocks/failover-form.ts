import type { KnownBlock, ModalView, PlainTextOption } from "@slack/types";
import type { ClusterConfig } from "../../config/inventory.js";
import { MODES, type Mode } from "../../plan/types.js";
import { shorten } from "./text-fit.js";

/** The form's callback_id and the block_ids of its inputs (errors are shown under these). */
export const FORM = {
  callbackId: "failover_form",
  blocks: {
    cluster: "fo_form_cluster",
    mode: "fo_form_mode",
    spare: "fo_form_spare",
    replica: "fo_form_replica",
    dryRun: "fo_form_dry_run",
  },
  actions: {
    cluster: "cluster",
    mode: "mode",
    spare: "spare",
    replica: "replica",
    dryRun: "dry_run",
  },
  /** The mode option meaning "no --mode": the bot chooses. */
  autoMode: "auto",
  dryRunValue: "dry-run",
} as const;

/** Slack's limits for a modal's selects and its private_metadata. */
export const FORM_LIMITS = {
  options: 100,
  optionGroups: 100,
  optionText: 75,
  optionValue: 150,
  privateMetadata: 3000,
} as const;

/** Most hosts one select offers, over all clusters. */
const HOST_OPTIONS = 500;

const MODE_TEXT: Record<Mode, string> = {
  switchover: "switchover: the master answers; hand over, lose no write",
  promote: "promote: the master is down; promote the best replica",
  replace: "replace: rebuild the master on a spare from a snapshot",
};

/** A host option's value: `cluster/host` (names cannot hold "/"), unique across clusters. */
export function hostValue(cluster: string, host: string): string {
  return `${cluster}/${host}`;
}

/**
 * The failover form (a modal): the clusters that may be failed over from the channel, the
 * mode, a spare and a replica from those clusters' hosts, and dry run. `privateMetadata`
 * travels with the view and comes back with the submission.
 */
export function failoverForm(
  clusters: readonly ClusterConfig[],
  privateMetadata: string,
): ModalView {
  const listed = clusters
    .filter((cluster) => cluster.name.length <= FORM_LIMITS.optionValue)
    .slice(0, FORM_LIMITS.options);
  const left = clusters.length - listed.length;
  const single = listed.length === 1 ? listed[0] : undefined;
  const clusterOptions = listed.map((cluster) => option(cluster.name, cluster.name));
  const modeOptions = [
    option("Let the bot choose", FORM.autoMode),
    ...MODES.map((mode) => option(MODE_TEXT[mode], mode)),
  ];
  const blocks = [
    {
      type: "input",
      block_id: FORM.blocks.cluster,
      label: plain("Cluster"),
      ...(left > 0
        ? {
            hint: plain(
              `${left} more cluster(s) are not listed here; type /redis failover <cluster> for them.`,
            ),
          }
        : {}),
      element: {
        type: "static_select",
        action_id: FORM.actions.cluster,
        placeholder: plain("Pick a cluster"),
        options: clusterOptions,
        ...(single ? { initial_option: option(single.name, single.name) } : {}),
      },
    },
    {
      type: "input",
      block_id: FORM.blocks.mode,
      label: plain("Mode"),
      hint: plain(
        "Without a mode the bot chooses: switchover while the master answers, promote when it is down and a replica is eligible, replace otherwise.",
      ),
      element: {
        type: "static_select",
        action_id: FORM.actions.mode,
        options: modeOptions,
        initial_option: option("Let the bot choose", FORM.autoMode),
      },
    },
    hostInput(
      FORM.blocks.spare,
      FORM.actions.spare,
      "Spare (optional)",
      "replace: the new master; promote or switchover: a new replica.",
      listed,
    ),
    hostInput(
      FORM.blocks.replica,
      FORM.actions.replica,
      "Replica (optional)",
      "replace: the snapshot source; promote or switchover: the new master.",
      listed,
    ),
    {
      type: "input",
      block_id: FORM.blocks.dryRun,
      optional: true,
      label: plain("Dry run"),
      element: {
        type: "checkboxes",
        action_id: FORM.actions.dryRun,
        options: [
          option("Show the plan only: nothing is changed, no approval is asked", FORM.dryRunValue),
        ],
      },
    },
  ];
  return {
    type: "modal",
    callback_id: FORM.callbackId,
    title: plain("Redis failover"),
    submit: plain("Plan it"),
    close: plain("Cancel"),
    private_metadata: privateMetadata,
    blocks: blocks.filter((block): block is KnownBlock => block !== undefined),
  };
}

/**
 * A select of the clusters' hosts, grouped by cluster when there is more than one. At most
 * `HOST_OPTIONS` hosts in all, so that the view stays far below Slack's 250 kB; the hint says
 * when some are left out (they can still be named in the typed command).
 */
function hostInput(
  blockId: string,
  actionId: string,
  label: string,
  hint: string,
  clusters: readonly ClusterConfig[],
): KnownBlock | undefined {
  let room = HOST_OPTIONS;
  let left = 0;
  const groups: Array<{ cluster: ClusterConfig; options: PlainTextOption[] }> = [];
  for (const [i, cluster] of clusters.entries()) {
    const fitting = cluster.hosts.filter(
      (host) => hostValue(cluster.name, host.name).length <= FORM_LIMITS.optionValue,
    );
    const take =
      i < FORM_LIMITS.optionGroups ? Math.min(fitting.length, FORM_LIMITS.options, room) : 0;
    left += cluster.hosts.length - take;
    room -= take;
    if (take === 0) continue;
    groups.push({
      cluster,
      options: fitting
        .slice(0, take)
        .map((host) => option(host.name, hostValue(cluster.name, host.name))),
    });
  }
  // A select needs options: with none to offer, the field is left out (name hosts by typing).
  if (groups.length === 0) return undefined;
  const grouped = clusters.length > 1;
  const notes = [
    hint,
    ...(grouped ? ["Pick a host of the cluster chosen above."] : []),
    ...(left > 0
      ? [`${left} host(s) are not listed; name them in /redis failover <cluster>.`]
      : []),
  ];
  return {
    type: "input",
    block_id: blockId,
    optional: true,
    label: plain(label),
    hint: plain(notes.join(" ")),
    element: {
      type: "static_select",
      action_id: actionId,
      placeholder: plain("None: the bot picks"),
      ...(grouped
        ? {
            option_groups: groups.map(({ cluster, options }) => ({
              label: plain(shorten(cluster.name, FORM_LIMITS.optionText)),
              options,
            })),
          }
        : { options: groups[0]?.options ?? [] }),
    },
  } as KnownBlock;
}

function option(text: string, value: string): PlainTextOption {
  return { text: plain(shorten(text, FORM_LIMITS.optionText)), value };
}

function plain(text: string) {
  return { type: "plain_text" as const, text, emoji: true };
}
