/**
 * What every queue does with a job that can never start, waits too long for capacity, loses its
 * machine or fails to start: one home for the policy, so the queues cannot drift apart.
 */
import type { Duration } from 'aws-cdk-lib';
import {
  Action,
  JobStateTimeLimitActionsAction,
  JobStateTimeLimitActionsReason,
  JobStateTimeLimitActionsState,
  Reason,
  RetryStrategy,
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

/**
 * Attempts that never ran the program: the image could not be pulled (a registry or network hiccup,
 * ECR throttling), the task's resources (network interface, log stream, secrets) could not be set up,
 * or the task failed to start for another reason. Batch puts the first two in the attempt's container
 * `reason` and the third in the job's `statusReason`; patterns may end in `*` and nowhere else.
 */
export const START_FAILURES: readonly Reason[] = [
  Reason.CANNOT_PULL_CONTAINER,
  Reason.custom({ onReason: 'ResourceInitializationError:*' }),
  Reason.custom({ onStatusReason: 'Task failed to start*' }),
];

/**
 * Retry the queue's loss of a machine (`interruption`: a Spot reclaim) and the start failures; exit on
 * anything else, so a failing program is not run again. Retries share the job's attempts, which bound
 * them; Batch evaluates at most five conditions, in order, and this uses all five.
 */
export function retryStrategies(interruption: Reason): RetryStrategy[] {
  return [
    RetryStrategy.of(Action.RETRY, interruption),
    ...START_FAILURES.map((reason) => RetryStrategy.of(Action.RETRY, reason)),
    RetryStrategy.of(Action.EXIT, Reason.custom({ onReason: '*' })),
  ];
}
