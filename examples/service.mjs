// A stand-in for a real service: reports which variables it received, never their values.
const names = (process.env.DEMO_VARIABLES ?? '').split(',').filter(Boolean);
console.log(`service: pid ${process.pid}, started by secrun`);
for (const name of names) {
  const value = process.env[name];
  if (value === undefined) console.log(`  ${name} is MISSING`);
  else if (/^(vault|awssm):/.test(value)) console.log(`  ${name} is still a reference (not resolved!)`);
  else console.log(`  ${name}=${'*'.repeat(4)} (${value.length} chars)`);
}
const agentToken = process.env.VAULT_TOKEN;
console.log(
  `  VAULT_TOKEN ${agentToken === undefined ? 'not in the service environment (good)' : 'LEAKED to the service'}`,
);
