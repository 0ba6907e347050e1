// Bounds from docs/protocol.md, version 1 (mirrored by collector/schema.py). They count
// characters; the beacon truncates to them before sending (lib/clip.ts), because the
// collector refuses a batch with any field over its bound.
export const MAX_URL = 2048;
export const MAX_NAME = 200;
export const MAX_MESSAGE = 8192;
export const MAX_STACK = 16384;
export const MAX_SHORT = 64;
/** A breadcrumb's message and an attribution value. */
export const MAX_CRUMB = 512;
export const MAX_CAUSES = 5;
export const MAX_CRUMBS = 30;
export const MAX_TAGS = 32;
/** A tag's or `dropped` reason's key. */
export const MAX_KEY = 32;
/** A line or column (schema `Position`). */
export const MAX_POSITION = 2 ** 31 - 1;
/** A duration or metric value in ms: a day (schema `Millis`). */
export const MAX_MS = 86400000;

/** Events in one batch (protocol bound). */
export const MAX_BATCH_EVENTS = 100;

/**
 * Bytes of one request body. Browsers allow 64 KiB in flight for keepalive requests and
 * sendBeacon together (Fetch standard, "keepalive"); staying below that with room for
 * headers lets a batch leave while the page unloads.
 */
export const MAX_BODY_BYTES = 60000;

/** The keepalive budget itself: bytes of keepalive bodies in flight at once. */
export const KEEPALIVE_BYTES = 65536;

/** A send without an answer this long is given up (and the next collector URL tried). */
export const SEND_TIMEOUT_MS = 10000;
