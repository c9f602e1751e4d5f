/** `history.csv`: one row per arm and epoch, for spreadsheets and pandas. */
import type { ArmName, EpochRecord } from '../shared/metrics.js';
import { inArmOrder } from '../shared/run-settings.js';

export const HISTORY_CSV_COLUMNS = ['arm', 'epoch', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'seconds'] as const;

/**
 * Numbers are written in full (shortest round-trip form), so the CSV agrees with metrics.json exactly.
 * Arms in a fixed order (the augmented arm, then the baseline), so two runs' files diff line by line.
 */
export function renderHistoryCsv(arms: Record<ArmName, readonly EpochRecord[]>): string {
  const rows = [HISTORY_CSV_COLUMNS.join(',')];
  for (const arm of inArmOrder(Object.keys(arms))) {
    for (const record of arms[arm] ?? []) {
      rows.push(
        [arm, record.epoch, record.loss, record.accuracy, record.valLoss, record.valAccuracy, record.seconds]
          .map(String)
          .join(','),
      );
    }
  }
  return `${rows.join('\n')}\n`;
}
