import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createReporter } from '../../job/progress.js';
import type { StepProgress } from '../../job/train.js';

/** A terminal as cli-progress drives it: the cursor calls are no-ops, the text is kept. */
function fakeTerminal() {
  const chunks: string[] = [];
  const stream = {
    isTTY: true,
    columns: 160,
    write: (chunk: string) => chunks.push(chunk) > 0,
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
    on: () => stream,
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

const step = (arm: 'mixup' | 'baseline', epoch: number, n: number): StepProgress => ({
  arm, epoch, step: n, steps: 10, partial: { steps: n, lossSum: n * 2, correct: n, seen: n * 8, seconds: n * 0.01 },
});

describe('progress on a terminal', () => {
  test('two arms in flight get one bar each; epoch lines and events print above them', async () => {
    const { stream, text } = fakeTerminal();
    const reporter = createReporter(stream, false);
    for (let n = 1; n <= 4; n++) {
      reporter.step(step('mixup', 1, n));
      reporter.step(step('baseline', 1, n));
    }
    reporter.event('storage-wait', { seconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 250)); // the bars redraw on a timer
    const drawn = text();
    assert.match(drawn, /mixup {4}epoch 1 \[.*\] \d+\/10/);
    assert.match(drawn, /baseline epoch 1 \[.*\] \d+\/10/);
    assert.match(drawn, /storage-wait seconds=1\n/);
    reporter.epoch('mixup', { epoch: 1, loss: 0.5, accuracy: 0.8, valLoss: 0.6, valAccuracy: 0.75, seconds: 1.5 }, 2);
    reporter.step(step('baseline', 1, 10));
    reporter.close();
    assert.match(text(), /mixup {4}epoch 1\/2: loss 0\.5000 acc 80\.00 % \| val loss 0\.6000 acc 75\.00 % \| 1\.5 s\n/);
  });
});
