/**
 * A TCP proxy in front of the test S3 server. Cutting it stops "the server" from the client's point of
 * view, mid-request if wanted, while the real server (LocalStack) keeps its objects for checks.
 */
import net from 'node:net';

export interface TcpProxy {
  readonly endpoint: string;
  /** Bytes sent from clients to the server so far. */
  readonly bytesUp: number;
  /** Calls `callback` once, as soon as more than `bytes` have gone up. */
  onBytesUp(bytes: number, callback: () => void): void;
  /** Refuses new connections and cuts every open one. */
  cut(): Promise<void>;
  /**
   * 'pass' forwards; 'stall' accepts connections and never answers (open ones go silent too);
   * 'reset' resets every new connection. Switching back to 'pass' serves new connections again.
   */
  setMode(mode: 'pass' | 'stall' | 'reset'): void;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const url = new URL(target);
  const sockets = new Set<net.Socket>();
  let bytesUp = 0;
  const watchers: { bytes: number; callback: () => void }[] = [];
  let mode: 'pass' | 'stall' | 'reset' = 'pass';
  const stalled = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (mode === 'reset') {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    if (mode === 'stall') {
      // Read and drop everything: the client's writes succeed, no answer ever comes.
      stalled.add(client);
      client.on('error', () => {});
      client.on('data', () => {});
      client.on('close', () => stalled.delete(client));
      return;
    }
    const upstream = net.connect(Number(url.port), url.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
      for (const watcher of watchers.splice(0)) {
        if (bytesUp > watcher.bytes) watcher.callback();
        else watchers.push(watcher);
      }
    });
    client.pipe(upstream).pipe(client);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get bytesUp() {
      return bytesUp;
    },
    onBytesUp(bytes, callback) {
      watchers.push({ bytes, callback });
    },
    async cut() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of [...sockets, ...stalled]) socket.destroy();
      await closed;
    },
    setMode(next) {
      mode = next;
      if (next !== 'pass') {
        // Open (kept-alive) connections end too, as a host that went away would leave them.
        for (const socket of sockets) if (next === 'reset') socket.destroy();
        else socket.pause();
      }
    },
  };
}
