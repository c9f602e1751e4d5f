/**
 * The one price table the cost estimates of `mixup results` use. Prices change: edit this file (and
 * its date) rather than any formula. Every figure is USD, Linux, x86, region us-east-1.
 *
 * Sources, as published (this machine cannot reach aws.amazon.com, so they were not re-read live):
 * - Fargate on-demand: https://aws.amazon.com/fargate/pricing/ ($0.04048 per vCPU-hour, $0.004445 per
 *   GB-hour, unchanged in the write-ups of that page dated March and June 2026).
 * - Fargate Spot: the same page's "current Spot price" table moves with supply and demand; AWS states
 *   savings of up to 70 %, and it has been between 50 % and 70 % off on-demand, the range used here.
 * - EC2 on-demand G instances: https://aws.amazon.com/ec2/pricing/on-demand/.
 * - EC2 Spot: https://aws.amazon.com/ec2/spot/pricing/ changes hourly; the "typical" ranges are those of
 *   docs/deploy.md, mid-2026. Check the Spot price history before a big sweep.
 */
export const PRICES = {
  date: '2026-06',
  region: 'us-east-1',
  currency: 'USD',
  fargate: {
    onDemand: { vcpuHour: 0.04048, gbHour: 0.004445 },
    /** Fraction off on-demand: the least and the most. */
    spotDiscount: { min: 0.5, max: 0.7 },
    source: 'https://aws.amazon.com/fargate/pricing/',
  },
  /** Per instance-hour; a GPU job reserves a whole *.xlarge (4 vCPU). */
  gpuInstances: {
    'g4dn.xlarge': { onDemand: 0.526, spotTypical: { low: 0.16, high: 0.25 } },
    'g5.xlarge': { onDemand: 1.006, spotTypical: { low: 0.3, high: 0.45 } },
    'g6.xlarge': { onDemand: 0.8048, spotTypical: { low: 0.25, high: 0.4 } },
  },
  gpuSource: 'https://aws.amazon.com/ec2/pricing/on-demand/ and https://aws.amazon.com/ec2/spot/pricing/',
} as const;
