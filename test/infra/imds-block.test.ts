/**
 * The GPU hosts' IMDS rule, run for real: the launch template's systemd unit (gpu-hosts.ts) is checked
 * by systemd-analyze, and its ExecStart runs in a fresh network namespace (unshare --net, so this
 * machine's own rules are untouched) where 169.254.169.254 is a local listener. The job's uid is
 * refused at once, root (the ECS agent) and other users are not, and a second run adds nothing.
 * Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN), iptables, unshare and setpriv, as this machine and CI have.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { IMDS_ADDRESS, IMDS_BLOCK_UNIT, imdsBlockUnit } from '../../infra/gpu-hosts.js';
import { JOB_UID } from '../../infra/props.js';

const CAN_UNSHARE = spawnSync('unshare', ['--net', 'iptables', '-S', 'OUTPUT'], { encoding: 'utf8' }).status === 0;
const SKIP = CAN_UNSHARE ? false : 'needs root with unshare and iptables (a network namespace of its own)';

const unit = imdsBlockUnit(JOB_UID);
const execStart = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(unit)![1]!;

/** Connects to IMDS's port 80 as `uid` and prints `connected` or the error code. */
const CONNECT = `require('node:net').connect(80, '${IMDS_ADDRESS}').on('connect', function () { console.log('connected'); this.destroy(); }).on('error', (e) => console.log(e.code))`;

function inNamespace(script: string): string {
  const cwd = mkdtempSync(join(tmpdir(), 'mixup-imds-'));
  try {
    const result = spawnSync('unshare', ['--net', 'bash', '-euo', 'pipefail', '-c', script], { cwd, encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    return result.stdout;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

test('the unit file is valid systemd', { skip: spawnSync('systemd-analyze', ['--version']).status === 0 ? false : 'systemd-analyze not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mixup-unit-'));
  try {
    writeFileSync(join(dir, IMDS_BLOCK_UNIT), unit);
    const result = spawnSync('systemd-analyze', ['verify', join(dir, IMDS_BLOCK_UNIT)], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.trim(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the job's uid cannot reach instance metadata; root and other users can; the rule is added once", { skip: SKIP }, () => {
  const node = process.execPath;
  const out = inNamespace([
    'ip link set lo up',
    `ip addr add ${IMDS_ADDRESS}/32 dev lo`,
    // A stand-in for the metadata service: accepts and closes.
    `${node} -e "require('node:net').createServer((s) => s.end()).listen(80, '${IMDS_ADDRESS}', () => console.log('listening'))" > listener.log &`,
    'for i in $(seq 50); do grep -q listening listener.log 2>/dev/null && break; sleep 0.1; done',
    `sh -c '${execStart.replace(/'/g, `'\\''`)}'`,
    `sh -c '${execStart.replace(/'/g, `'\\''`)}'`,
    'echo "rules: $(iptables -S OUTPUT | grep -c -- "--uid-owner")"',
    `echo "root: $(${node} -e "${CONNECT}")"`,
    `echo "job: $(setpriv --reuid ${JOB_UID} --regid ${JOB_UID} --clear-groups ${node} -e "${CONNECT}")"`,
    `echo "other: $(setpriv --reuid ${JOB_UID + 1} --regid ${JOB_UID + 1} --clear-groups ${node} -e "${CONNECT}")"`,
    'kill %1',
  ].join('\n'));
  const lines = Object.fromEntries(out.trim().split('\n').filter((l) => l.includes(': ')).map((l) => l.split(': ')));
  assert.deepEqual(lines, { rules: '1', root: 'connected', job: 'ECONNREFUSED', other: 'connected' }, out);
});
