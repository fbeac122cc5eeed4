/** A stored value that does not decode (damaged, or of a format this critap does not know). */
export class ValueDecodeError extends Error {}
