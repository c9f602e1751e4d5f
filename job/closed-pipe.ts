/** Writes to a reader that has gone away (`mixup … | head`). */

const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * A reader that went away (`mixup run | head`) makes writes fail with EPIPE, emitted as an 'error'
 * event that would otherwise kill the process mid-training: logging is not worth a run. Other write
 * errors still surface.
 */
export function ignoreClosedPipe(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}
