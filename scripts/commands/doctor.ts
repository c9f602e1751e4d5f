/** `mixup doctor`: flags to options; the checks and their AWS clients load when the command runs. */
import { type Command, Option } from 'commander';

import { JobError } from '../../job/errors.js';
import { describeQueues } from '../../job/shared/queues.js';
import { DEFAULT_STACK_NAME, QUEUES } from '../../job/shared/stack.js';
import type { DoctorDeps, DoctorOptions } from '../doctor/doctor.js';

/** Adds `mixup doctor` to the CLI. Failures surface as JobError for the entry to print. */
export function register(program: Command, deps?: () => DoctorDeps): Command {
  return program
    .command('doctor')
    .description('check the deployed stack before a sweep: queue, compute environments, job definition, image, data, GPU quotas')
    .option('--stack-name <name>', 'deployed stack whose SSM parameters name the queue and buckets', DEFAULT_STACK_NAME)
    .addOption(new Option('--queue <queue>', `which of the stack's queues to check: ${describeQueues()} (default: gpu, or the stack's first)`).choices(QUEUES))
    .option('--job-queue <arn>', "a job queue ARN to check instead of the stack's")
    .option('--job-definition <arn>', "the job definition to check (default: the stack's, from SSM)")
    .option('--data <location>', "the dataset prefix (default: the stack's data bucket)")
    .action(async (flags: DoctorOptions) => {
      const { defaultDoctorDeps, doctor, formatChecklist } = await import('../doctor/doctor.js');
      const resolved = deps?.() ?? defaultDoctorDeps();
      const checks = await doctor(flags, resolved);
      resolved.out(formatChecklist(checks));
      const blockers = checks.filter((check) => check.status === 'fail');
      if (blockers.length > 0) throw new JobError(`${blockers.length} blocker(s): jobs would not run until they are fixed`);
    });
}
