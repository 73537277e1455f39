import type { StepKind, StepSpec } from "../../plan/types.js";
import type { StepImplementation } from "../step-context.js";
import { announce } from "./announce.js";
import { copyRdb } from "./copy-rdb.js";
import { enableAof } from "./enable-aof.js";
import { fence } from "./fence.js";
import { prepareSpare } from "./prepare-spare.js";
import { promote } from "./promote.js";
import { recheck } from "./recheck.js";
import { replicate } from "./replicate.js";
import { sentinelFailover, sentinelMonitor, sentinelRemove } from "./sentinel.js";
import { snapshot } from "./snapshot.js";
import { startRedis } from "./start-redis.js";
import { switchover } from "./switchover.js";

export const STEPS: { [K in StepKind]: StepImplementation<Extract<StepSpec, { kind: K }>> } = {
  recheck,
  snapshot,
  "copy-rdb": copyRdb,
  "prepare-spare": prepareSpare,
  "start-redis": startRedis,
  "enable-aof": enableAof,
  promote,
  replicate,
  switchover,
  "sentinel-failover": sentinelFailover,
  "sentinel-remove": sentinelRemove,
  "sentinel-monitor": sentinelMonitor,
  fence,
  announce,
};
