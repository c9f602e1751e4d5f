/**
 * Where Fashion-MNIST is read from when `--data` is not given. Light on purpose (no storage clients): a
 * sweep resolves its children's data location with it before anything else loads.
 */
import { existsSync, statSync } from 'node:fs';

import { UsageError } from '../errors.js';

/** Debian's `dataset-fashion-mnist` package installs the four files here. */
export const SYSTEM_DATA_DIR = '/usr/share/datasets/fashion-mnist';
/** Zalando's own mirror, as its README links it (an S3 website endpoint: plain http only). */
export const FASHION_MNIST_MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/**
 * The data location to use: `location` when given; else `$FASHION_MNIST_DIR`; else the Debian package's
 * directory when it exists; else Zalando's public mirror.
 */
export function resolveDataLocation(
  location: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  dirExists: (dir: string) => boolean = isDirectory,
): string {
  if (location !== undefined) {
    if (location.trim() === '') throw new UsageError(`--data is empty; give a directory, s3://bucket/prefix or URL`);
    return location;
  }
  const fromEnv = env.FASHION_MNIST_DIR?.trim();
  if (fromEnv) return fromEnv;
  if (dirExists(SYSTEM_DATA_DIR)) return SYSTEM_DATA_DIR;
  return FASHION_MNIST_MIRROR;
}

function isDirectory(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}
