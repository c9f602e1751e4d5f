/**
 * What a training image costs in arithmetic, and what this machine could do at most, for
 * bench:experiment's images/s per core and its share of the peak.
 * - FLOPs per image: the model's multiply-adds (2 FLOPs each) for one training image: the forward
 *   pass, then the gradient of every weight and of every layer's input except the first layer's
 *   (nothing needs it), all counted dense. Pooling, activations, the loss and Adam are left out: a
 *   few percent, and no multiply-adds.
 * - Peak: cores × GHz × FMA units × vector floats × 2 (a fused multiply-add is two FLOPs). GHz is
 *   the nominal clock /proc/cpuinfo reports (a VM's, without turbo), the vector width the widest the
 *   native library runs (AVX-512: 16 floats, AVX2: 8, else 4), the FMA units per core an assumption
 *   (2 on Intel Xeon Scalable and AMD Zen 2+; --fma-units to change it). The job keeps XNNPACK's and
 *   its own wasm routines' floats, which round the product and the sum separately, so it cannot use
 *   fused multiply-adds: half the peak is its own ceiling, also reported.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { loadNativeConv } from '../job/backend/native-conv.js';
import { createModel } from '../job/model.js';

interface LayerShape {
  className: string;
  outputShape: number[];
  kernelShape: number[] | null;
}

/** Multiply-adds of one image through each conv and dense layer: forward, weight gradient, input gradient. */
export function trainingFlopsPerImage(): { forward: number; training: number } {
  const model = createModel(0);
  const layers: LayerShape[] = model.layers.map((layer) => ({
    className: layer.getClassName(),
    outputShape: (layer.output as tf.SymbolicTensor).shape as number[],
    kernelShape: layer.getWeights()[0]?.shape ?? null,
  }));
  let forward = 0;
  let backward = 0;
  let first = true;
  for (const layer of layers) {
    let macs = 0;
    if (layer.className === 'Conv2D' && layer.kernelShape !== null) {
      const [kh, kw, ci] = layer.kernelShape as [number, number, number, number];
      const [, oh, ow, co] = layer.outputShape as [number, number, number, number];
      macs = oh * ow * co * kh * kw * ci;
    } else if (/Dense$/.test(layer.className) && layer.kernelShape !== null) {
      const [inputs, units] = layer.kernelShape as [number, number];
      macs = inputs * units;
    } else {
      continue;
    }
    forward += macs;
    backward += macs + (first ? 0 : macs); // weight gradient; input gradient but for the first layer
    first = false;
  }
  model.dispose();
  return { forward: 2 * forward, training: 2 * (forward + backward) };
}

export interface MachinePeak {
  readonly cores: number;
  readonly ghz: number;
  readonly ghzSource: string;
  readonly fmaUnits: number;
  readonly vectorFloats: number;
  readonly isa: string;
  /** cores × GHz × FMA units × vector floats × 2, in GFLOP/s. */
  readonly peakGflops: number;
  /** Half of it: separate multiplies and adds, as bit-for-bit float semantics require. */
  readonly withoutFmaGflops: number;
  readonly formula: string;
}

/** The nominal clock: `cpu MHz` of /proc/cpuinfo (Linux), else what Node reports; null if neither knows. */
function nominalGhz(): { ghz: number; source: string } | null {
  try {
    const match = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match !== null && Number(match[1]) > 0) return { ghz: Number(match[1]) / 1000, source: '/proc/cpuinfo cpu MHz' };
  } catch {
    // not Linux
  }
  const speed = os.cpus()[0]?.speed ?? 0;
  return speed > 0 ? { ghz: speed / 1000, source: 'os.cpus() speed' } : null;
}

export function machinePeak(options: { ghz?: number; fmaUnits: number }): MachinePeak | null {
  const clock = options.ghz !== undefined ? { ghz: options.ghz, source: '--ghz' } : nominalGhz();
  if (clock === null) return null;
  const available = loadNativeConv('auto').available;
  const isa = available[available.length - 1] ?? 'none (wasm: 4 floats)';
  const vectorFloats = isa === 'avx512f' ? 16 : isa === 'avx2' ? 8 : 4;
  const cores = os.availableParallelism();
  const peakGflops = cores * clock.ghz * options.fmaUnits * vectorFloats * 2;
  return {
    cores,
    ghz: clock.ghz,
    ghzSource: clock.source,
    fmaUnits: options.fmaUnits,
    vectorFloats,
    isa,
    peakGflops: Number(peakGflops.toFixed(1)),
    withoutFmaGflops: Number((peakGflops / 2).toFixed(1)),
    formula: `${cores} cores × ${clock.ghz} GHz × ${options.fmaUnits} FMA units × ${vectorFloats} floats × 2`,
  };
}
