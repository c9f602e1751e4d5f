/**
 * Ordinary filesystem failures and a damaged checkpoint: one line with the path and
 * the cause, exit 1, never a stack and "this is a bug".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { describeFsError } from '../../job/fs-errors.js';

describe('filesystem errors', () => {
  test('each code is one line with the path and the cause', () => {
    const cases: [string, string, RegExp][] = [
      ['ENOSPC', 'write', /^cannot write \/x\/y: no space left on the device \(ENOSPC\)$/],
      ['EROFS', 'open', /^cannot open \/x\/y: the filesystem is read-only \(EROFS\)$/],
      ['EACCES', 'mkdir', /^cannot create directory \/x\/y: permission denied \(EACCES\)$/],
      ['ENAMETOOLONG', 'open', /the name is too long/],
      ['ELOOP', 'open', /too many levels of symbolic links/],
      ['EISDIR', 'read', /is a directory, not a file/],
      ['ENOTDIR', 'mkdir', /a part of the path is a file/],
    ];
    for (const [code, syscall, pattern] of cases) {
      const error = Object.assign(new Error(`${code}: boom`), { code, syscall, path: '/x/y' });
      assert.match(describeFsError(error) ?? '', pattern, code);
    }
    assert.equal(describeFsError(new TypeError('x')), null);
  });
});
