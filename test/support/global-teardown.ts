import { killRegisteredServers } from './servers';

/** Kills every server a suite started, even when the suite failed before its afterAll ran. */
export default function globalTeardown(): void {
  killRegisteredServers();
}
