/**
 * `npm run localstack [-- --port 4566]`: LocalStack in the foreground (test/support/localstack.ts) until
 * Ctrl-C or SIGTERM, which stop it and remove its files. Prints its endpoint as a `LOCALSTACK_ENDPOINT=`
 * line (test/run-all.sh waits for it) and the variables that point the AWS SDK, the aws CLI and the
 * integration tests at it.
 */
import { startLocalStack } from './localstack.js';

const portFlag = process.argv.indexOf('--port');
const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : 4566;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`localstack: --port '${process.argv[portFlag + 1]}' must be a port number (0: any free one)\n`);
  process.exit(2);
}

const started = performance.now();
const localstack = await startLocalStack({ port });
const env = Object.entries(localstack.env).map(([name, value]) => `${name}=${value}`).join(' ');
process.stdout.write(
  `LocalStack ${localstack.version} ready in ${((performance.now() - started) / 1000).toFixed(1)} s; its files: ${localstack.root}\n` +
    `LOCALSTACK_ENDPOINT=${localstack.endpoint}\n` +
    `# in another shell:\nexport ${env} LOCALSTACK_ENDPOINT=${localstack.endpoint}\n` +
    `# Ctrl-C stops it and removes its files.\n`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void localstack.stop().then(() => process.exit(0));
  });
}
// Keeps the process alive until a signal comes.
setInterval(() => {}, 1 << 30);
