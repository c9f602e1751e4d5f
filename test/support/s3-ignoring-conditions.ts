/**
 * A store that ignores conditional writes: an HTTP proxy in front of the test S3 (LocalStack) that drops
 * `If-None-Match` and `If-Match` from every PUT, so a create-if-absent or replace-if-unchanged silently
 * overwrites, as some S3-compatible stores do (s3rver did; S3 itself honoured neither before August
 * 2024). Everything else passes unchanged, so reads, listings and errors are the real S3's. The fixture
 * for code that must detect such a store (the run lease depends on conditional writes).
 *
 * Dropping a header breaks a SigV4 signature that covers it; LocalStack does not check signatures.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const DROPPED = ['if-none-match', 'if-match'];

export interface IgnoringConditionsS3 {
  /** e.g. `http://127.0.0.1:40123`: use it as AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  /** PUTs that carried a condition it dropped, so far. */
  readonly dropped: number;
  stop(): Promise<void>;
}

export async function startS3IgnoringConditionalWrites(target: string): Promise<IgnoringConditionsS3> {
  const upstream = new URL(target);
  let dropped = 0;
  const server = http.createServer((request, response) => {
    const headers = { ...request.headers };
    if (request.method === 'PUT' && DROPPED.some((name) => name in headers)) {
      for (const name of DROPPED) delete headers[name];
      dropped++;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`proxy: ${error.message}`);
    });
    request.pipe(forward);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get dropped() {
      return dropped;
    },
    async stop() {
      // The SDK keeps sockets alive; without this, close() waits for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
