/**
 * Stands in for tv4 in the bundle (aliased at build time). node-vault requires tv4 when it loads,
 * but secrun hands it args-check.ts through its `tv4` option, so tv4 is never called.
 */
function refuse(): never {
  throw new Error('secrun: internal error: node-vault used tv4 instead of secrun argument check');
}

export default { validate: refuse, error: null };
