import { UsageError } from '../errors.js';

/** An `s3://bucket/prefix` location; `prefix` has no leading or trailing '/'. */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

// S3's rules for new (general purpose) buckets: 3–63 chars, lower-case letters, digits, '.', '-',
// starting and ending with a letter or digit, not an IP address, no '..'.
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_PATTERN = /^\d+\.\d+\.\d+\.\d+$/;

export function isS3Uri(location: string): boolean {
  return /^s3:\/\//i.test(location);
}

/** Parses and validates an `s3://` URI; `option` names the flag for the message, e.g. `--out`. */
export function parseS3Uri(uri: string, option = 'location'): S3Location {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(uri);
  if (!match) throw new UsageError(`${option} '${uri}' is not an S3 URI; use s3://bucket/prefix`);
  const bucket = match[1]!;
  const prefix = match[2]!.replace(/^\/+|\/+$/g, '');
  const problem = bucketProblem(bucket);
  if (problem) throw new UsageError(`${option} '${uri}': bucket name '${bucket}' ${problem}`);
  if (prefix && prefix.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new UsageError(`${option} '${uri}': the prefix must not contain empty, '.' or '..' segments`);
  }
  return { bucket, prefix };
}

export function formatS3Uri(bucket: string, key: string): string {
  return key ? `s3://${bucket}/${key}` : `s3://${bucket}`;
}

function bucketProblem(bucket: string): string | null {
  if (bucket.length < 3 || bucket.length > 63) return 'must be 3 to 63 characters long';
  if (!BUCKET_PATTERN.test(bucket)) {
    return 'may only contain lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit';
  }
  if (bucket.includes('..')) return 'must not contain two adjacent dots';
  if (IP_PATTERN.test(bucket)) return 'must not look like an IP address';
  return null;
}
