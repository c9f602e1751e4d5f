/**
 * Ordinary filesystem failures (a full or read-only disk, a path through a file, a symlink loop, no
 * permission) are the user's to fix, not bugs: one line with the path and the cause.
 */
const CAUSES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory, not a file',
  EEXIST: 'already exists (as a file where a directory is needed?)',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long for the filesystem',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the filesystem is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EBUSY: 'the resource is busy',
  EXDEV: 'cannot rename across filesystems',
};

const VERBS: Record<string, string> = {
  open: 'open', read: 'read', write: 'write', mkdir: 'create directory', rename: 'rename', unlink: 'remove',
  rmdir: 'remove directory', scandir: 'list', stat: 'inspect', lstat: 'inspect', link: 'link', copyfile: 'copy',
};

/** One line for an fs error (`cannot write /x: no space left on the device (ENOSPC)`), or null for anything else. */
export function describeFsError(error: unknown): string | null {
  const e = error as NodeJS.ErrnoException | undefined;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !(e.code in CAUSES)) return null;
  if (typeof e.path !== 'string' && typeof e.syscall !== 'string') return null;
  const verb = VERBS[e.syscall ?? ''] ?? e.syscall ?? 'use';
  const dest = (e as { dest?: unknown }).dest;
  const target = typeof e.path === 'string' ? ` ${e.path}${typeof dest === 'string' ? ` → ${dest}` : ''}` : '';
  return `cannot ${verb}${target}: ${CAUSES[e.code]} (${e.code})`;
}
