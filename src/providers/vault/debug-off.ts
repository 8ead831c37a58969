/**
 * Stands in for the `debug` package in the bundle (aliased at build time): node-vault's debug
 * output includes request bodies, and secrun passes its own no-op logger anyway.
 */
export default function createDebug(): (...args: unknown[]) => void {
  return () => undefined;
}
