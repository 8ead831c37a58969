/**
 * Stands in for axios in the bundle (aliased at build time). node-vault requires axios when it
 * loads, but secrun hands it its own transport, so axios must never be called; loading it would
 * also load Node's bundled undici (about 100 ms of boot). Any call fails loudly.
 */
function refuse(): never {
  throw new Error('secrun: internal error: node-vault tried to use axios instead of secrun transport');
}

const axios = Object.assign(refuse, { create: refuse, request: refuse, get: refuse, post: refuse });

export default axios;
