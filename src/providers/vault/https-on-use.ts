/**
 * Stands in for `https` inside node-vault in the bundle and the executable (aliased at build
 * time). node-vault requires https when it loads but only builds an `https.Agent` from TLS
 * options, which secrun never passes (its transport owns the agent). Taking https on first use
 * keeps TLS and crypto (25 internal modules) out of a boot against a plain-http Vault.
 */
import { https } from '../http-modules.ts';

export default {
  get Agent(): typeof import('node:https').Agent {
    return https().Agent;
  },
};
