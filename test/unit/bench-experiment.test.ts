import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { childrenCpuSeconds, kerasSide, torchSide, type SideOptions } from '../../bench/experiment-sides.js';
import { ratiosAgainstPeers } from '../../bench/experiment-ratios.js';
import { trainingFlopsPerImage } from '../../bench/throughput.js';

/**
 * bench:experiment's peers, with stand-in interpreters (no TensorFlow or torch needed): each is
 * skipped with its reason where it cannot run, and read from the reference's own output format where
 * it can.
 */
const OPTIONS: SideOptions = { epochs: 2, seed: 42, data: '/nowhere' };

describe('bench:experiment sides', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mixup-bench-sides-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function script(name: string, body: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, `#!/usr/bin/env bash\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  test('Keras: skipped with its reason where the virtualenv or the script is missing', async () => {
    const reference = await script('mixup_keras.py', '');
    const noVenv = kerasSide(path.join(dir, 'no-venv/bin/python'), reference);
    assert.ok('unavailable' in noVenv);
    assert.match(noVenv.unavailable, /no-venv\/bin\/python not found \(reference\/keras\/setup\.sh makes it\)/);
    const noScript = kerasSide(await script('python', ''), path.join(dir, 'missing.py'));
    assert.ok('unavailable' in noScript && /missing\.py not found/.test(noScript.unavailable));
  });

  test("Keras: runs both arms in one process with the benchmark's epochs, seed and data, and reads its JSON line", async () => {
    // The stand-in fails unless it is given exactly these arguments.
    const reference = await script('mixup_keras.py', '');
    const python = await script(
      'python',
      `[ "$*" = "${reference} --arms both --epochs 2 --seed 42 --data /nowhere" ] || exit 3
echo "baseline epoch 1: …" >&2
echo '{"arms":{"mixup":{"test":{"accuracy":0.79}},"baseline":{"test":{"accuracy":0.8}}}}'`,
    );
    const side = kerasSide(python, reference);
    assert.ok('run' in side);
    const result = await side.run(OPTIONS, 0);
    assert.deepEqual(result.testAccuracy, { mixup: 0.79, baseline: 0.8 });
    assert.ok(result.wallSeconds > 0 && result.cpuSeconds >= 0);
    const failing = kerasSide(await script('bad-python', 'echo not json'), await script('k.py', ''));
    assert.ok('run' in failing);
    await assert.rejects(failing.run(OPTIONS, 0), /printed no JSON line: "not json"/);
  });

  test('PyTorch: skipped where the interpreter lacks torch; reads each arm\'s RESULT line', async () => {
    const reference = await script('mixup_torch.py', '');
    const noTorch = await torchSide(await script('python3', 'exit 1'), reference);
    assert.ok('unavailable' in noTorch && /has no torch \(apt-get install python3-torch\)/.test(noTorch.unavailable));
    const python = await script('torch-python', 'if [ "$1" = -c ]; then exit 0; fi; mode=$4; echo "RESULT {\\"test_acc\\": $([ "$mode" = mixup ] && echo 0.78 || echo 0.81)}"');
    const side = await torchSide(python, reference);
    assert.ok('run' in side);
    assert.deepEqual((await side.run(OPTIONS, 0)).testAccuracy, { baseline: 0.81, mixup: 0.78 });
  });

  test('the ratio is against the peer with the lower median wall time; per round, against the faster peer of that round', () => {
    const run = (wallSeconds: number, cpuSeconds = wallSeconds) => ({ wallSeconds, cpuSeconds });
    const ours = [run(10, 15), run(20, 30), run(12, 18)];
    // torch: median 30; keras: median 24, though torch is the faster in round 2.
    const peers = [['torch', [run(30, 60), run(25, 50), run(40, 80)]], ['keras', [run(24, 20), run(35, 30), run(18, 16)]]] as const;
    assert.deepEqual(ratiosAgainstPeers(ours, peers), { fasterPeer: 'keras', ratio: 2, roundRatios: [2.4, 1.25, 1.5], cpuRatio: 1.111 });
    // A peer that did not run takes no part; none at all gives no ratio.
    assert.equal(ratiosAgainstPeers(ours, [['torch', []], ['keras', peers[1][1]]]).fasterPeer, 'keras');
    assert.deepEqual(ratiosAgainstPeers(ours, [['torch', []]]), { fasterPeer: null, ratio: null, roundRatios: [], cpuRatio: null });
  });

  test("bash's times: the children's user and system seconds", () => {
    assert.equal(childrenCpuSeconds('0m0.010s 0m0.002s\n1m2.500s 0m0.250s\n'), 62.75);
    assert.throws(() => childrenCpuSeconds('garbage'), /unexpected output of bash's times/);
  });

  test("FLOPs per training image, from the model's layers: forward 2·1,054,976, training 2·2,934,528", () => {
    // conv 5×5 1→16 at 24×24, conv 5×5 16→32 at 8×8, dense 32→128, dense 128→10; no input gradient for the first conv.
    const forward = 24 * 24 * 16 * 25 + 8 * 8 * 32 * 400 + 32 * 128 + 128 * 10;
    assert.deepEqual(trainingFlopsPerImage(), { forward: 2 * forward, training: 2 * (forward + 2 * forward - 24 * 24 * 16 * 25) });
  });
});
