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

/** Slack's limits for modals and their selects. */
export const FORM_LIMITS = {
  title: 24,
  options: 100,
  optionGroups: 100,
  optionText: 75,
  optionValue: 150,
  label: 2000,
  privateMetadata: 3000,
} as const;

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
  const blocks: KnownBlock[] = [
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
    blocks,
  };
}

/** A select of the clusters' hosts, grouped by cluster when there is more than one. */
function hostInput(
  blockId: string,
  actionId: string,
  label: string,
  hint: string,
  clusters: readonly ClusterConfig[],
): KnownBlock {
  const optionsOf = (cluster: ClusterConfig) =>
    cluster.hosts
      .filter((host) => hostValue(cluster.name, host.name).length <= FORM_LIMITS.optionValue)
      .slice(0, FORM_LIMITS.options)
      .map((host) => option(host.name, hostValue(cluster.name, host.name)));
  const grouped = clusters.length > 1;
  return {
    type: "input",
    block_id: blockId,
    optional: true,
    label: plain(label),
    hint: plain(grouped ? `${hint} Pick a host of the cluster chosen above.` : hint),
    element: {
      type: "static_select",
      action_id: actionId,
      placeholder: plain("None: the bot picks"),
      ...(grouped
        ? {
            option_groups: clusters.slice(0, FORM_LIMITS.optionGroups).map((cluster) => ({
              label: plain(shorten(cluster.name, FORM_LIMITS.optionText)),
              options: optionsOf(cluster),
            })),
          }
        : { options: clusters[0] ? optionsOf(clusters[0]) : [] }),
    },
  } as KnownBlock;
}

function option(text: string, value: string): PlainTextOption {
  return { text: plain(shorten(text, FORM_LIMITS.optionText)), value };
}

function plain(text: string) {
  return { type: "plain_text" as const, text, emoji: true };
}
