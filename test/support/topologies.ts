/**
 * Runs a block of cache tests against both Redis topologies the product supports: a standalone
 * server and a 3-master cluster, each started for the block and stopped after it.
 */
import { RedisCluster, RedisServer } from './servers';

export type Topology =
  | { readonly kind: 'standalone'; readonly server: RedisServer; readonly url: string }
  | { readonly kind: 'cluster'; readonly cluster: RedisCluster; readonly startupNodes: { host: string; port: number }[] };

export interface TopologyHandle {
  /** The running topology; read it inside tests or hooks, not at describe time. */
  current(): Topology;
}

/** `describe` once per topology; `body` receives a handle to the servers started for it. */
export function describeEachTopology(name: string, body: (handle: TopologyHandle) => void): void {
  for (const kind of ['standalone', 'cluster'] as const) {
    describe(`${name} (${kind} Redis)`, () => {
      let topology: Topology | undefined;
      beforeAll(async () => {
        if (kind === 'standalone') {
          const server = await RedisServer.start();
          topology = { kind, server, url: server.url };
        } else {
          const cluster = await RedisCluster.start();
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
