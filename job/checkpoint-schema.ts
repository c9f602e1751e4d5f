/** The shape of `checkpoints/state.json`, checked before a resume trusts it. */
import { z } from 'zod';

const spec = z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() });
const partial = z.object({ steps: z.number(), lossSum: z.number(), correct: z.number(), seen: z.number(), seconds: z.number() });
const arm = z.enum(['mixup', 'baseline']);

const stateSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  config: z.object({ alpha: z.number(), epochs: z.number(), batchSize: z.number(), seed: z.number() }).loose(),
  savedAt: z.string(),
  completed: z.record(z.string(), z.unknown()),
  current: z
    .object({ arm, epoch: z.number().int().nonnegative(), partial, history: z.array(z.unknown()), trainSeconds: z.number(), trainImages: z.number() })
    .nullable(),
  tensors: z.object({ key: z.string().min(1), model: z.array(spec), optimizer: z.array(spec), optimizerProducts: z.array(spec) }).nullable(),
});

/** Why `value` is not a checkpoint state, or null when it is one. */
export function checkpointProblem(value: unknown): string | null {
  const result = stateSchema.safeParse(value);
  if (result.success) return null;
  const issue = result.error.issues[0]!;
  return `${issue.path.join('.') || 'top level'}: ${issue.message}`;
}
