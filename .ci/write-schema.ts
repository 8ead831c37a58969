// Writes schema/secrun.schema.json from the option table (npm run schema). A test fails when the
// shipped file differs from what the table generates.
import { writeFileSync } from 'node:fs';
import { configSchema } from '../src/config/schema-gen.ts';

const target = new URL('../schema/secrun.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(configSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${target.pathname}\n`);
