/**
 * Runs a block of cache tests against both Redis topologies the product supports: a standalone
 * server and a 3-master cluster, each started for the block and stopped after it.
 */
import { RedisCluster, RedisServer, RedisServerOptions } from './servers';

export type Topology =
  | { readonly kind: 'standalone'; readonly server: RedisServer; readonly url: string }
  | { readonly kind: 'cluster'; readonly cluster: RedisCluster; readonly startupNodes: { host: string; port: number }[] };

export interface TopologyHandle {
  /** The running topology; read it inside tests or hooks, not at describe time. */
  current(): Topology;
}

/**
 * `describe` once per topology; `body` receives a handle to the servers started for it. `server`
 * options (e.g. `maxmemory` and its policy) apply to the standalone server and to every cluster node.
 */
export function describeEachTopology(name: string, body: (handle: TopologyHandle) => void, server: RedisServerOptions = {}): void {
  for (const kind of ['standalone', 'cluster'] as const) {
    describe(`${name} (${kind} Redis)`, () => {
      let topology: Topology | undefined;
      beforeAll(async () => {
        if (kind === 'standalone') {
          const started = await RedisServer.start(server);
          topology = { kind, server: started, url: started.url };
        } else {
          const cluster = await RedisCluster.start(server);
          topology = { kind, cluster, startupNodes: cluster.startupNodes };
        }
      });
      afterAll(async () => {
        if (!topology) return;
        if (topology.kind === 'standalone') await topology.server.stop();
        else await topology.cluster.stop();
      });
      body({
        current: () => {
          if (!topology) throw new Error('topology not started yet');
          return topology;
        },
      });
    });
  }
}
