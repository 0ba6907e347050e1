/** The beacon's version; test/version.test.mjs keeps it equal to package.json's. */
export const VERSION = '0.1.0';

/** The batch's `sdk` field. */
export const SDK = `vigil.js/${VERSION}`;
