/**
 * Why a Batch sweep's children failed: for each failed child, its (α, seed), Batch's status reason and
 * exit code, and the last lines of its CloudWatch log, so `mixup sweep --wait` says what went wrong
 * without a trip to the console.
 *
 * The log is read where Batch writes it: the job's `container.logStreamName` in the group the job
 * definition's `awslogs` configuration names, else Batch's default group `/aws/batch/job`.
 */
import {
  BatchClient,
  DescribeJobDefinitionsCommand,
  DescribeJobsCommand,
  type JobDefinition,
  type JobDetail,
} from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, GetLogEventsCommand, type OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';

import type { CommandSender } from '../batch-client.js';

/** Where Batch sends a job's output when its definition configures no log group. */
export const DEFAULT_LOG_GROUP = '/aws/batch/job';
export const DEFAULT_LOG_LINES = 10;
/** DescribeJobs takes at most 100 ids per call. */
const DESCRIBE_PAGE = 100;

/** The grid point of one run, as `sweep.json` records it. */
export interface FailedRunRef {
  readonly index: number;
  readonly alpha: number;
  readonly seed: number;
  readonly runId: string;
}

export interface FailedChild extends FailedRunRef {
  readonly jobId: string;
  readonly statusReason: string | null;
  readonly exitCode: number | null;
  /** Where the log was read from; null when the job has no log stream (it never started). */
  readonly log: { readonly group: string; readonly stream: string } | null;
  /** The last lines of the log, oldest first. */
  readonly tail: readonly string[];
  /** Why the log could not be read, when it could not. */
  readonly logProblem: string | null;
}

export interface FailureApis {
  describeJobs(jobIds: string[]): Promise<JobDetail[]>;
  describeJobDefinition(arn: string): Promise<JobDefinition | undefined>;
  /** The last `lines` events of a stream, oldest first. */
  logTail(group: string, stream: string, lines: number): Promise<string[]>;
}

export function createFailureApis(
  batch: CommandSender = new BatchClient({}),
  logs: CommandSender = new CloudWatchLogsClient({}),
): FailureApis {
  return {
    describeJobs: async (jobIds) => {
      const jobs: JobDetail[] = [];
      for (let i = 0; i < jobIds.length; i += DESCRIBE_PAGE) {
        const page = (await batch.send(new DescribeJobsCommand({ jobs: jobIds.slice(i, i + DESCRIBE_PAGE) }))) as { jobs?: JobDetail[] };
        jobs.push(...(page.jobs ?? []));
      }
      return jobs;
    },
    describeJobDefinition: async (arn) => {
      const page = (await batch.send(new DescribeJobDefinitionsCommand({ jobDefinitions: [arn] }))) as { jobDefinitions?: JobDefinition[] };
      return page.jobDefinitions?.[0];
    },
    logTail: async (group, stream, lines) => {
      const page = (await logs.send(
        new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, limit: lines, startFromHead: false }),
      )) as { events?: OutputLogEvent[] };
      return (page.events ?? []).map((event) => (event.message ?? '').trimEnd());
    },
  };
}

/** The log group a job definition sends its containers' output to. */
export function logGroupOf(definition: JobDefinition | undefined): string {
  const logging = definition?.containerProperties?.logConfiguration;
  const group = logging?.logDriver === 'awslogs' ? logging.options?.['awslogs-group'] : undefined;
  return group || DEFAULT_LOG_GROUP;
}

/**
 * Details of the failed runs of the sweep's Batch job `jobId`. Array children are `<jobId>:<index>`
 * (AWS's naming); a one-point sweep is the plain job itself.
 */
export async function describeFailedChildren(
  runs: readonly FailedRunRef[],
  jobId: string,
  array: boolean,
  apis: FailureApis,
  lines = DEFAULT_LOG_LINES,
): Promise<FailedChild[]> {
  const idOf = (run: FailedRunRef) => (array ? `${jobId}:${run.index}` : jobId);
  const jobs = new Map((await apis.describeJobs(runs.map(idOf))).map((job) => [job.jobId, job]));
  const groups = new Map<string, Promise<string>>();
  const groupFor = (arn: string | undefined) => {
    if (!arn) return Promise.resolve(DEFAULT_LOG_GROUP);
    if (!groups.has(arn)) groups.set(arn, apis.describeJobDefinition(arn).then(logGroupOf, () => DEFAULT_LOG_GROUP));
    return groups.get(arn)!;
  };
  const children: FailedChild[] = [];
  for (const run of runs) {
    const job = jobs.get(idOf(run));
    const attempt = job?.attempts?.at(-1);
    const stream = job?.container?.logStreamName ?? attempt?.container?.logStreamName ?? null;
    const statusReason = job?.statusReason ?? attempt?.statusReason ?? job?.container?.reason ?? null;
    const exitCode = job?.container?.exitCode ?? attempt?.container?.exitCode ?? null;
    const base = { ...run, jobId: idOf(run), statusReason, exitCode };
    if (!job) {
      children.push({ ...base, log: null, tail: [], logProblem: `AWS Batch does not describe job ${idOf(run)}` });
      continue;
    }
    if (!stream) {
      children.push({ ...base, log: null, tail: [], logProblem: 'no log stream (the container never started)' });
      continue;
    }
    const configured = await groupFor(job.jobDefinition);
    children.push({ ...base, ...(await readTail(apis, [configured, DEFAULT_LOG_GROUP], stream, lines)) });
  }
  return children;
}

/**
 * The first group in which the stream exists. Batch writes to the job definition's group; the default
 * group is the fallback for definitions without one and for emulators that always use it (moto).
 */
async function readTail(
  apis: FailureApis,
  groups: readonly string[],
  stream: string,
  lines: number,
): Promise<Pick<FailedChild, 'log' | 'tail' | 'logProblem'>> {
  const problems: string[] = [];
  for (const group of [...new Set(groups)]) {
    try {
      return { log: { group, stream }, tail: await apis.logTail(group, stream, lines), logProblem: null };
    } catch (error) {
      problems.push(`${group}: ${(error as Error).message}`);
    }
  }
  return { log: null, tail: [], logProblem: `could not read log stream ${stream} (${problems.join('; ')})` };
}

/** One block per failed child: the point, the reason, the log's last lines. */
export function formatFailures(children: readonly FailedChild[]): string {
  return children
    .map((child) => {
      const reason = child.statusReason ?? 'no status reason from Batch';
      const exit = child.exitCode !== null ? `, exit code ${child.exitCode}` : '';
      const head = `failed: α = ${child.alpha}, seed ${child.seed} (${child.runId}, job ${child.jobId}): ${reason}${exit}`;
      if (child.log === null) return `${head}\n  log: ${child.logProblem}`;
      const where = `  last ${child.tail.length} log line(s) of ${child.log.group} ${child.log.stream}:`;
      return [head, where, ...child.tail.map((line) => `    | ${line}`)].join('\n');
    })
    .join('\n');
}

/**
 * Prints why the sweep's failed runs failed. Never throws: not being able to explain a failure must
 * not hide it, so a problem reading Batch or the logs becomes one more line.
 */
export async function reportFailures(
  record: { readonly runs: readonly FailedRunRef[]; readonly batch: { readonly arraySize: number | null } | null },
  jobId: string,
  failedRunIds: readonly string[],
  log: (line: string) => void,
  apis: FailureApis = createFailureApis(),
): Promise<void> {
  const failed = new Set(failedRunIds);
  const runs = record.runs.filter((run) => failed.has(run.runId));
  try {
    const text = formatFailures(await describeFailedChildren(runs, jobId, record.batch?.arraySize != null, apis));
    if (text) log(text);
  } catch (error) {
    log(`could not describe the failed runs of job ${jobId}: ${(error as Error).message}`);
  }
}
