/** Exits with 78 and a message on stderr when this Node is older than 22.18. */
export function requireSupportedNode(): void;
