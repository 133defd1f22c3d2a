import { killRegisteredServers, preparePostgresTemplate } from './servers';

/** Runs initdb once per test run; suites copy the template instead of running initdb each. */
export default function globalSetup(): void {
  killRegisteredServers();
  preparePostgresTemplate();
}
