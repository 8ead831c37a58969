// The dev Vault of the fleet simulation, in a process of its own (so the agents and the server do
// not share one event loop). Started by fleet.bench.ts with an IPC channel: it sends
// `{ url }` once listening and answers `stats` with the server's load counters.
import { parseSeed } from '../src/dev/seed.ts';
import { startVaultServer } from '../src/dev/vault/server.ts';

const [root = '', rate = '100', latency = '0'] = process.argv.slice(2);
const vault = await startVaultServer({
  seed: parseSeed(
    `vault:
  root_token: ${root}
  mounts:
    secret: { type: kv, version: 2 }
  kv:
    secret/app/db: { username: app, password: fleet-password }
    secret/app/api: { key: fleet-api-key }
`,
    'fleet-seed',
  ),
});
vault.faults.set({ rateLimit: { perSecond: Number(rate) }, latencyMs: Number(latency) });
process.on('message', (msg) => {
  if (msg === 'stats') process.send?.({ stats: vault.faults.stats, requests: vault.log.entries.length });
  if (msg === 'close') void vault.close().then(() => process.exit(0));
});
process.send?.({ url: vault.url });
