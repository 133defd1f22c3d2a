import { DEFAULT_DB_POOL_LIMITS, resolveDbPoolConfig } from '../../../../lambda/runtime/db/pool';

const AWS_ENV = { DB_HOST: 'db.cluster-abc.eu-west-1.rds.amazonaws.com', DB_NAME: 'app', DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db' };

function secrets(...values: string[]) {
  const reads: string[] = [];
  let i = 0;
  const readSecret = async (id: string) => {
    reads.push(id);
    const value = values[Math.min(i++, values.length - 1)];
    if (value === 'FAIL') throw new Error('Secrets Manager unavailable');
    return value;
  };
  return { readSecret, reads };
}

describe('resolveDbPoolConfig', () => {
  test('uses DATABASE_URL locally with the small-pool defaults', async () => {
    const config = await resolveDbPoolConfig({ env: { DATABASE_URL: 'postgres://u@h:1/d' } });
    expect(config).toMatchObject({
      connectionString: 'postgres://u@h:1/d',
      max: DEFAULT_DB_POOL_LIMITS.max,
      connectionTimeoutMillis: 3000,
      statement_timeout: 2000,
      query_timeout: 2500,
    });
  });

  test('connects to Aurora with TLS verification, the secret user and port, and DB_HOST/DB_NAME', async () => {
    const { readSecret, reads } = secrets(JSON.stringify({ username: 'api', password: 's3cret', port: 6432, engine: 'postgres' }));
    const config = await resolveDbPoolConfig({ env: AWS_ENV, readSecret });
    expect(config).toMatchObject({ host: AWS_ENV.DB_HOST, database: 'app', user: 'api', port: 6432, ssl: { rejectUnauthorized: true } });
    expect(reads).toEqual([AWS_ENV.DB_SECRET_ARN]);
    expect(await (config.password as () => Promise<string>)()).toBe('s3cret');
  });

  test('re-reads a rotated password after the max age and keeps the old one if the read fails', async () => {
    let now = 0;
    const { readSecret, reads } = secrets(
      JSON.stringify({ username: 'api', password: 'one' }),
      JSON.stringify({ username: 'api', password: 'two' }),
      'FAIL',
    );
    const config = await resolveDbPoolConfig({ env: AWS_ENV, readSecret, secretMaxAgeMs: 1000, now: () => now });
    const password = config.password as () => Promise<string>;
    now = 999;
    expect(await password()).toBe('one');
    now = 1000;
    expect(await password()).toBe('two');
    now = 2500;
    expect(await password()).toBe('two');
    expect(reads).toHaveLength(3);
  });

  test('names the missing variables when neither DATABASE_URL nor the AWS trio is set', async () => {
    await expect(resolveDbPoolConfig({ env: { DB_HOST: 'h' } })).rejects.toThrow('set DATABASE_URL, or all of DB_HOST, DB_NAME and DB_SECRET_ARN (missing: DB_NAME, DB_SECRET_ARN)');
  });

  test('rejects a secret without username and password', async () => {
    const { readSecret } = secrets(JSON.stringify({ username: 'api' }));
    await expect(resolveDbPoolConfig({ env: AWS_ENV, readSecret })).rejects.toThrow(`database secret ${AWS_ENV.DB_SECRET_ARN} must hold non-empty string fields username and password`);
    await expect(resolveDbPoolConfig({ env: AWS_ENV, readSecret: async () => 'not json' })).rejects.toThrow(/must be JSON/);
  });

  test.each([
    ['DB_POOL_MAX', '0'],
    ['DB_POOL_MAX', 'two'],
    ['DB_CONNECT_TIMEOUT_MS', '-5'],
    ['DB_STATEMENT_TIMEOUT_MS', '1.5'],
    ['DB_IDLE_TIMEOUT_MS', '0'],
  ])('rejects %s=%s naming the variable', async (name, value) => {
    await expect(resolveDbPoolConfig({ env: { DATABASE_URL: 'postgres://u@h/d', [name]: value } })).rejects.toThrow(new RegExp(`^${name} must be an integer between 1 and \\d+, got "${value.replace('.', '\\.')}"$`));
  });
});
