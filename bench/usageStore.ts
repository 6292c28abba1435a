/**
 * The usage store for `npm run bench`: Azurite's Table service (test/support/azurite.ts), reached by each proxy
 * through a forwarder of its own that counts the requests it sends, so the bench reports the rate the store sees
 * per instance.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Azurite } from '../test/support/azurite';

/** One proxy's way to the store. */
export interface CountedRoute {
  /** PROXY_USAGE_TABLE_CONNECTION_STRING for the proxy, through its counter. */
  connectionString: string;
  /** Requests the store has received through this route so far. */
  requests(): number;
}

export interface CountedStore {
  /** A new counted way to the store, for one proxy. */
  route(): Promise<CountedRoute>;
  /** Azurite's process, to keep it off the measured server's core. */
  pid: number | undefined;
  close(): Promise<void>;
}

export async function countedUsageStore(): Promise<CountedStore> {
  const azurite = await Azurite.start();
  const forwarders: Server[] = [];
  return {
    route: async () => {
      let count = 0;
      const forwarder = createServer((req, res) => {
        count++;
        const upstream = request({ host: '127.0.0.1', port: azurite.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      });
      forwarders.push(forwarder);
      await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(forwarder.address() as AddressInfo).port}`;
      return { connectionString: azurite.connectionStringVia(origin), requests: () => count };
    },
    pid: azurite.child.pid,
    close: async () => {
      for (const forwarder of forwarders) forwarder.closeAllConnections();
      await Promise.all(forwarders.map((forwarder) => new Promise((resolve) => forwarder.close(resolve))));
      await azurite.stop();
    },
  };
}
