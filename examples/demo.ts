// `npm run demo`: seed the dev servers, then `secrun run -- node examples/service.mjs` with references.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDevServers } from '../src/dev/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const servers = await startDevServers({ seedFile: `${root}examples/seed.yaml` });
const references: Record<string, string> = {
  SPRING_DATASOURCE_USERNAME: 'vault:database/creds/payments#username',
  SPRING_DATASOURCE_PASSWORD: 'vault:database/creds/payments#password',
  PAYMENTS_DB_HOST: 'vault:secret/payments/db#host',
  PAYMENTS_FEATURE_FLAGS: 'vault:secret/payments/config#feature_flags',
  STRIPE_API_KEY: 'awssm:prod/payments/stripe#api_key',
  STRIPE_WEBHOOK_SECRET: 'awssm:prod/payments/stripe#webhook_secret',
};
console.log('secrun demo: dev Vault at %s, dev Secrets Manager at %s', servers.vault.url, servers.aws.url);
console.log('references in the service environment:');
for (const [name, ref] of Object.entries(references)) console.log(`  ${name}=${ref}`);
console.log(`$ secrun run -- node examples/service.mjs\n`);

const child = spawn(
  process.execPath,
  [`${root}bin/secrun.js`, 'run', '--', process.execPath, `${root}examples/service.mjs`],
  {
    stdio: 'inherit',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...servers.env,
      ...references,
      DEMO_VARIABLES: Object.keys(references).join(','),
    },
  },
);
const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 128 : 1))));
const reads = servers.vault.log.filter({ path: '/v1/database/creds/payments' }).length;
console.log(
  `\nsecrun exited ${code}; the dynamic database role was read ${reads} time(s) for two variables.`,
);
await servers.close();
process.exitCode = code;
