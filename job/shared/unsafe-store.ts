/**
 * The variable by which a user lets runs go on a store that ignores conditional writes, where the run
 * lease (job/storage/lease.ts) cannot keep a second process out; a local sweep passes it on to its
 * children. A module of its own so that a local sweep can name it without loading the S3 client.
 */
export const ALLOW_UNSAFE_STORE_ENV = 'MIXUP_ALLOW_UNSAFE_STORE';
