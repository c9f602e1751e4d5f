/** No augmentation: the baseline arm trains on the first stream's batches as they are. */
import { z } from 'zod';

import type { Augmentation } from '../augmentation.js';

const none: Augmentation<Record<string, never>> = {
  name: 'none',
  title: 'no augmentation',
  samplesTitle: 'Baseline training samples (not augmented)',
  color: '#ff7f0e',
  params: z.object({}),
  pairs: false,
  combine(one) {
    return { x: one.x, y: one.y, lam: new Float32Array(one.size).fill(1) };
  },
};

export default none;
