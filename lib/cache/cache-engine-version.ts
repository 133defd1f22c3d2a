import { CacheEngine } from './cache-cluster';

/**
 * An engine and version of a node-based ElastiCache cache, with the parameter-group family it needs
 * and the major version a serverless cache is created with.
 */
export class CacheEngineVersion {
  /** Valkey 7.2 (the Redis OSS 7.2 compatible first Valkey release). */
  public static readonly VALKEY_7_2 = new CacheEngineVersion(CacheEngine.VALKEY, '7.2', 'valkey7');
  /** Valkey 8.0. */
  public static readonly VALKEY_8_0 = new CacheEngineVersion(CacheEngine.VALKEY, '8.0', 'valkey8');
  /** Valkey 8.1 (the default: current, and available in every region that offers Valkey 8). */
  public static readonly VALKEY_8_1 = new CacheEngineVersion(CacheEngine.VALKEY, '8.1', 'valkey8');
  /** Valkey 8.2. */
  public static readonly VALKEY_8_2 = new CacheEngineVersion(CacheEngine.VALKEY, '8.2', 'valkey8');
  /** Redis OSS 7.1 (the last Redis OSS release on ElastiCache). */
  public static readonly REDIS_7_1 = new CacheEngineVersion(CacheEngine.REDIS, '7.1', 'redis7');
  /** Redis OSS 7.0. */
  public static readonly REDIS_7_0 = new CacheEngineVersion(CacheEngine.REDIS, '7.0', 'redis7');
  /** Redis OSS 6.2 (the oldest version with role-based access control and TLS mode `required`). */
  public static readonly REDIS_6_2 = new CacheEngineVersion(CacheEngine.REDIS, '6.2', 'redis6.x');

  /** Any other version, e.g. `CacheEngineVersion.of(CacheEngine.VALKEY, '9.0', 'valkey9')`. */
  public static of(engine: CacheEngine, version: string, parameterGroupFamily: string): CacheEngineVersion {
    if (!/^\d+\.\d+(\.\d+)?$/.test(version)) {
      throw new Error(`\`version\` must look like '8.1' (major.minor), got ${JSON.stringify(version)}`);
    }
    return new CacheEngineVersion(engine, version, parameterGroupFamily);
  }

  private constructor(
    /** The engine. */
    public readonly engine: CacheEngine,
    /** `EngineVersion` of the replication group, e.g. '8.1'. */
    public readonly version: string,
    /** `CacheParameterGroupFamily` of its parameter group, e.g. 'valkey8'. */
    public readonly parameterGroupFamily: string,
  ) {}

  /** `MajorEngineVersion` of a serverless cache, e.g. '8'. */
  public get majorVersion(): string {
    return this.version.split('.')[0];
  }
}
