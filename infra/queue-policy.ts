/** What both queues do with a job that can never start or waits too long for capacity: one home for the policy. */
import type { Duration } from 'aws-cdk-lib';
import {
  JobStateTimeLimitActionsAction,
  JobStateTimeLimitActionsReason,
  JobStateTimeLimitActionsState,
  type JobStateTimeLimitAction,
} from 'aws-cdk-lib/aws-batch';
import { MISCONFIGURED_WAIT } from './props.js';

/** Jobs stuck RUNNABLE are cancelled: after `capacityWait` for lack of capacity, after 10 minutes when nothing could ever fit them. */
export function stuckRunnableActions(capacityWait: Duration): JobStateTimeLimitAction[] {
  return [
    stuckRunnable(JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY, capacityWait),
    stuckRunnable(JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE, MISCONFIGURED_WAIT),
    stuckRunnable(JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT, MISCONFIGURED_WAIT),
  ];
}

function stuckRunnable(reason: JobStateTimeLimitActionsReason, maxTime: Duration): JobStateTimeLimitAction {
  return { reason, maxTime, action: JobStateTimeLimitActionsAction.CANCEL, state: JobStateTimeLimitActionsState.RUNNABLE };
}
