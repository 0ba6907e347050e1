// Bounds from docs/protocol.md, version 1 (mirrored by collector/schema.py). They count
// characters; the beacon truncates to them before sending, because the collector refuses
// a batch with any field over its bound.
export const MAX_ID = 64;
export const MAX_URL = 2048;
export const MAX_NAME = 200;
export const MAX_MESSAGE = 8192;
export const MAX_STACK = 16384;
export const MAX_SHORT = 64;
export const MAX_POSITION = 2 ** 31 - 1;

/** Events in one batch (protocol bound). */
export const MAX_BATCH_EVENTS = 100;

/**
 * Bytes of one request body. Browsers allow 64 KiB in flight for keepalive requests and
 * sendBeacon together (Fetch standard, "keepalive"); staying below that with room for
 * headers lets a batch leave while the page unloads.
 */
export const MAX_BODY_BYTES = 60000;
